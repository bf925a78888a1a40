"""``--cpu-idle``: the PM QoS request is held for the run and released after, the policy and the machine's
idle land in the file and in every reader, and a device that cannot be written is one line and exit 2,
before any file is written. Tests that hold the real request skip where ``/dev/cpu_dma_latency`` is
missing or unreadable."""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import ipcbench
from ipcbench import compare, compare_output, history, idle, store
from ipcbench.cache import summaries
from ipcbench.cli import main
from ipcbench.errors import InputError, ResultFileError
from ipcbench.plan import build_options
from ipcbench.runner import Runner
from tests.compare_docs import document, grid, write
from tests.seams import MOCK_REGISTRY

GOLDEN = Path(__file__).parent / "golden"
needs_device = pytest.mark.skipif(
    idle.latency_limit_us() is None or not os.access(idle.DEVICE, os.W_OK),
    reason=f"{idle.DEVICE} is missing or cannot be read and written here",
)


def holding_device() -> bool:
    """Whether this process has the device open (the open descriptor is the request)."""
    fds = Path("/proc/self/fd")
    return any(os.path.realpath(fds / fd) == str(idle.DEVICE.resolve()) for fd in os.listdir(fds))


def settles_to(value: int, seconds: float = 3.0) -> bool:
    """The aggregate reads ``value`` again (another test run on the machine may hold a request a while)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if idle.latency_limit_us() == value:
            return True
        time.sleep(0.05)
    return False


@needs_device
def test_poll_holds_a_zero_limit_and_releases_it() -> None:
    before = idle.latency_limit_us()
    with idle.hold("poll"):
        assert idle.latency_limit_us() == 0
        assert holding_device()
    assert not holding_device()
    assert settles_to(before) or before == 0  # before 0: someone else holds one, nothing to see


def test_os_changes_nothing_and_an_unknown_policy_is_refused() -> None:
    with idle.hold("os"):
        assert not holding_device()
    with pytest.raises(InputError, match="unknown CPU idle policy 'turbo'"), idle.hold("turbo"):
        pass


def mock_run(output: Path, cpu_idle: str, watch: Callable[[], object]) -> tuple[dict, Path, list[object]]:
    """One mock pingpong cell with ``cpu_idle``; ``watch()`` is called as the cell starts."""
    seen: list[object] = []
    options = build_options(
        profile="quick",
        transports="mock/fast",
        sizes="64",
        workloads="pingpong",
        repeats=2,
        budget_s=0.002,
        output=output,
        cpu_idle=cpu_idle,
        registry=MOCK_REGISTRY,
    )
    progress = lambda event, *_: seen.append(watch()) if event == "start" else None  # noqa: E731
    document, path = Runner(options, progress, MOCK_REGISTRY).run()
    return document, path, seen


@pytest.fixture(scope="module")
def poll_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, list[object]]:
    """A mock run with ``--cpu-idle poll``, reading the aggregate limit as each cell starts."""
    if idle.latency_limit_us() is None or not os.access(idle.DEVICE, os.W_OK):
        pytest.skip(f"{idle.DEVICE} is missing or cannot be read and written here")
    described_while_holding: list[bool] = []
    describe = idle.describe

    def watched_describe(*args, **kwargs):  # type: ignore[no-untyped-def]
        described_while_holding.append(holding_device())
        return describe(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(idle, "describe", watched_describe)
        found = mock_run(tmp_path_factory.mktemp("results"), "poll", idle.latency_limit_us)
    assert described_while_holding == [False]  # the fingerprint reads the limit before the run's request
    return found


def test_the_run_holds_the_request_and_the_file_says_so(poll_run, capsys) -> None:
    _, path, seen = poll_run
    assert seen == [0]  # during the cell
    assert not holding_device()  # and released once the run is over
    loaded = store.load(path)
    assert loaded["config"]["cpu_idle"] == "poll"
    described = loaded["machine"]["cpu_idle"]
    assert described["states"] and all("exit_latency_us" in state for state in described["states"])
    assert ipcbench.load(path)["cpu_idle"].tolist() == ["poll"]
    assert main(["show", str(path)]) == 0
    assert "CPU idle: poll (PM QoS 0 us held)" in capsys.readouterr().out


def test_an_os_run_holds_nothing_and_records_os(tmp_path: Path) -> None:
    document, _, held = mock_run(tmp_path, "os", holding_device)
    assert held == [False] and document["config"]["cpu_idle"] == "os"
    assert idle.text(document).startswith("os (")


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        (PermissionError(13, "Permission denied"), "run as root, or grant write access to it"),
        (FileNotFoundError(2, "No such file or directory"), "does not exist here"),
    ],
)
def test_a_device_that_cannot_be_written_is_one_line_and_no_file(
    tmp_path: Path, monkeypatch, capsys, refusal: OSError, said: str
) -> None:
    device = tmp_path / "cpu_dma_latency"
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(path) == device:
            raise refusal
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(idle, "DEVICE", device)
    monkeypatch.setattr(idle.os, "open", refusing_open)
    output = tmp_path / "results"
    argv = ["run", "--transports", "mock/fast", "--sizes", "64", "--workloads", "pingpong"]
    argv += ["--repeats", "1", "--budget", "0.002", "--cpu-idle", "poll", "--output", str(output)]
    assert main(argv, registry=MOCK_REGISTRY) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("ipcbench: error: --cpu-idle poll") and said in err and "--cpu-idle os" in err
    assert not list(output.rglob("*.json"))


def test_an_unknown_policy_on_the_command_line_is_one_line(capsys) -> None:
    assert main(["run", "--cpu-idle", "turbo"], registry=MOCK_REGISTRY) == 2
    assert "invalid choice: 'turbo'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["result-v1-real.json", "result-v2-real.json"])
def test_files_from_before_the_option_read_as_os(name: str, capsys) -> None:
    path = GOLDEN / name
    document = store.load(path)
    assert "cpu_idle" not in document["config"] and "cpu_idle" not in document["machine"]
    assert idle.policy_of(document) == "os"
    assert ipcbench.load(path)["cpu_idle"].unique().tolist() == ["os"]
    assert main(["show", str(path)]) == 0
    assert "CPU idle: os (idle states not recorded)" in capsys.readouterr().out


def test_the_loader_refuses_a_malformed_idle_record() -> None:
    good = store.load(GOLDEN / "result-v2-real.json")
    for where, value, said in (
        ("config", "turbo", "config.cpu_idle: expected one of os, poll"),
        ("machine", {"states": "POLL"}, "machine.cpu_idle.states: expected a list"),
        ("machine", {"states": [{"exit_latency_us": -1}]}, "exit_latency_us: expected a whole number"),
        ("machine", {"haltpoll": [1]}, "machine.cpu_idle.haltpoll: expected an object"),
    ):
        bad = copy.deepcopy(good)
        bad[where]["cpu_idle"] = value
        with pytest.raises(ResultFileError, match=said):
            store.accept(json.loads(json.dumps(bad)))


def test_machine_text_names_the_states_and_another_programs_request() -> None:
    described = {
        "driver": "haltpoll",
        "governor": "haltpoll",
        "states": [{"name": "POLL", "exit_latency_us": 0}, {"name": "haltpoll idle", "exit_latency_us": 1}],
        "haltpoll": {"guest_halt_poll_ns": "0"},
        "latency_limit_us": idle.NO_REQUEST_US,
    }
    doc = {"config": {}, "machine": {"cpu_idle": described}}
    assert idle.text(doc) == (
        "os (cpuidle haltpoll/haltpoll: POLL 0 us, haltpoll idle 1 us; guest_halt_poll_ns=0)"
    )
    described["latency_limit_us"] = 0
    assert idle.text(doc).endswith("; another program held a PM QoS limit of 0 us)")
    described["latency_limit_us"] = None
    assert idle.text(doc).endswith("; other programs' PM QoS requests unknown)")


def test_describe_reads_a_machine_without_cpuidle(tmp_path: Path) -> None:
    described = idle.describe(sysfs=tmp_path, haltpoll=tmp_path / "absent")
    assert described["driver"] is None and described["states"] == [] and described["haltpoll"] is None


def _pair(tmp_path: Path, policies: tuple[str | None, str | None]) -> compare.Comparison:
    loaded = []
    for index, policy in enumerate(policies):
        doc = document(grid(), created=f"2026-11-2{index + 1}T10:00:00Z")
        if policy is not None:
            doc["config"]["cpu_idle"] = policy
        path = write(doc, tmp_path / f"{index}.json")
        loaded.append((path, store.load(path)))
    return compare.compare(loaded[0], loaded[1], compare.Settings())


def test_compare_says_when_the_idle_policies_differ(tmp_path: Path) -> None:
    comparison = _pair(tmp_path, (None, "poll"))
    said = "CPU idle differs: BASE os (idle states not recorded), NEW poll (PM QoS 0 us held)"
    assert "cpu_idle os -> poll" in comparison.differences
    assert said in compare_output.render(comparison, "markdown")
    assert said in compare_output.render(comparison, "table")
    data = json.loads(compare_output.render(comparison, "json"))
    assert data["cpu_idle_differs"].startswith(said)
    assert (data["base"]["cpu_idle"], data["new"]["cpu_idle"]) == ("os", "poll")


def test_compare_says_nothing_when_they_agree(tmp_path: Path) -> None:
    comparison = _pair(tmp_path, (None, "os"))  # a file from before the option ran with "os"
    assert comparison.differences == []
    assert "CPU idle" not in compare_output.render(comparison, "markdown")
    assert json.loads(compare_output.render(comparison, "json"))["cpu_idle_differs"] is None


def test_history_keeps_each_idle_policy_in_a_series_of_its_own(tmp_path: Path) -> None:
    for index in range(6):
        doc = document(grid(), created=f"2026-11-{index + 1:02d}T10:00:00Z")
        if index % 2:
            doc["config"]["cpu_idle"] = "poll"
        write(doc, tmp_path / "m1" / f"{index:02d}.json")
    lines = [
        line for line in history.build(summaries([tmp_path])) if line.key == ("pipe", None, "pingpong", 64)
    ]
    assert sorted((line.mechanism, len(line.points)) for line in lines) == [
        ("pipe", 3),
        ("pipe [cpu-idle poll]", 3),
    ]
    assert {row["cpu_idle"] for row in history.as_json(lines)} == {"os", "poll"}


def test_list_says_what_the_idle_cpus_do_here(monkeypatch, capsys, tmp_path: Path) -> None:
    assert main(["list"], registry=MOCK_REGISTRY) == 0
    assert "CPU idle here: cpuidle " in capsys.readouterr().out
    monkeypatch.setattr(idle, "DEVICE", tmp_path / "absent")
    assert "does not exist here" in idle.poll_availability()
