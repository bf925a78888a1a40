"""Profiles and filters -> the list of cells to measure, and the options a run is made of.

A *cell* is one (transport, variant, workload, size, impl), and its ``--tune``
setting if any (``tuning``). Cells are ordered size by size, and within a
size every mechanism in turn, each in both tiers back to back, so a slow drift of the machine touches all
mechanisms and both tiers alike instead of whichever happened to run last.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ipcbench import native, tuning, workloads
from ipcbench.errors import InputError
from ipcbench.native import IMPLS
from ipcbench.transports import REGISTRY, Registry, Transport, all_pairs, label, resolve
from ipcbench.tuning import Tune
from ipcbench.units import parse_sizes
from ipcbench.workloads import DEFAULT_WORKLOADS, WORKLOADS

KIB, MIB = 1 << 10, 1 << 20


@dataclass(frozen=True)
class Profile:
    """A named trade-off between time and confidence."""

    name: str
    sizes: tuple[int, ...]
    repeats: int  # independent runs per cell, each with a fresh process pair
    budget_s: float  # target measured time of one run; message counts are calibrated to it
    description: str
    # Mechanisms this profile measures only when asked for by name (``--transports``): what does not fit
    # its time cap. ``full`` leaves out nothing.
    leaves_out: tuple[str, ...] = ()
    # What else it leaves out to fit its time cap, unless sizes or tiers are named (``--sizes``, ``--impl``):
    # the native tier at other sizes than these (None: at all), and round trips (the lockstep workloads)
    # above this size (None: none left out).
    native_sizes: tuple[int, ...] | None = None
    round_trips_up_to: int | None = None


# Variants that answer narrower questions than the profile's own: measured by ``full`` or by name.
NARROW = ("mp-shm/event", "posix-shm/eventfd", "unix-seqpacket", "posix-shm/hybrid", "sysv-shm/hybrid")
# The demonstrations (``unsync``, a few seconds of stream cells): in the default report, which claim 3
# cites them in, and in ``full``; the CI smoke run leaves them out.
DEMONSTRATIONS = ("posix-shm/unsync", "sysv-shm/unsync")

PROFILES = {
    p.name: p
    for p in (
        Profile(
            "quick",
            (64, 4 * KIB, MIB),
            3,
            0.02,
            "CI smoke run: 3 sizes (the native tier at 64 B and 1M), 3 runs per cell (~25 s); leaves "
            f"{', '.join(NARROW)} to full, and the unsync demonstration to default and full",
            NARROW + DEMONSTRATIONS,
            native_sizes=(64, MIB),
        ),
        Profile(
            "default",
            (64, 512, 4 * KIB, 64 * KIB, MIB, 16 * MIB),
            5,
            0.05,
            "6 sizes from 64 B to 16 MiB (round trips up to 1M), 5 runs per cell (~3 min); leaves "
            f"{', '.join(NARROW)} to full",
            NARROW,
            round_trips_up_to=MIB,
        ),
        Profile(
            "full",
            (64, 256, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB, 16 * MIB),
            10,
            0.2,
            "10 sizes, 10 runs per cell, longer runs (~15 min)",
        ),
    )
}
PINS = ("auto", "cross", "same", "none")
# Upper bounds said up front (issue 8): beyond them a run cannot finish in any sensible time, or its figures
# cannot be stored (a timeout of 1e10 s overflows the timers).
MAX_REPEATS = 100
MAX_TIMEOUT_S = 24 * 3600.0
MAX_BUDGET_S = 3600.0
MAX_NAME_BYTES = 100  # a label or machine name inside a file name (at most 255 bytes with the time stamp)


@dataclass(frozen=True)
class Cell:
    transport: str
    variant: str | None
    workload: str
    size: int
    impl: str = "python"  # "native": the same objects and protocol, hot loops in C
    tune: Tune = ()  # sorted (key, value) pairs of ``--tune``; () is the mechanism's default

    @property
    def mechanism(self) -> str:
        setting = tuning.text(self.tune)
        return label(self.transport, f"{self.variant or ''}[{setting}]" if setting else self.variant)


@dataclass(frozen=True)
class RunOptions:
    """Everything ``ipcbench run`` needs; built by the CLI or directly by tests."""

    profile: str = "default"
    transports: tuple[tuple[str, str | None], ...] = ()
    sizes: tuple[int, ...] = ()
    workloads: tuple[str, ...] = DEFAULT_WORKLOADS
    repeats: int | None = None  # None: the profile's
    budget_s: float | None = None  # None: the profile's
    pin: str = "auto"
    label: str | None = None
    output: Path = Path("results")
    machine_name: str | None = None
    timeout_s: float = 60.0
    min_messages: int = 10
    max_messages: int = 200_000
    verify_every: int = 1
    impls: tuple[str, ...] = ()  # () -> both tiers where the native one is available, else python
    # The profile's coverage (``Profile.native_sizes``, ``round_trips_up_to``), filled by ``finalise`` when
    # neither sizes nor tiers are named: () and 0 leave nothing out.
    native_sizes: tuple[int, ...] = ()
    round_trips_up_to: int = 0
    tune: tuple[str, ...] = ()  # ``--tune`` words, KEY=VALUE[,VALUE] (``tuning.parse``)
    cpu_idle: str = "os"  # ``idle.POLICIES``: the machine as it is, or idle CPUs held polling for the run
    fault: str | None = None  # test-only fault injection (``faults.py``), KIND@SEQ:ROLE
    wake_probe: bool = True  # probe the machine's wake-ups before, amid and after the cells (``wakeprobe``)


def build_options(
    profile: str = "default",
    transports: str | None = None,
    sizes: str | None = None,
    workloads: str | None = None,
    registry: Registry = REGISTRY,
    impls: str | None = None,
    **kwargs: object,
) -> RunOptions:
    """Parse user words into a complete ``RunOptions`` (``InputError`` on anything wrong)."""
    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}: choose from {', '.join(PROFILES)}")
    chosen = PROFILES[profile]
    # An option given empty is a mistake (a shell variable that expanded to nothing), not "everything".
    if transports is not None:
        pairs = tuple(resolve(_words(transports, "--transports"), registry))
    else:
        pairs = profile_pairs(chosen, registry)
    size_list = parse_sizes(sizes) if sizes is not None else ()  # () -> the profile's (``finalise``)
    names = _words(workloads, "--workloads") if workloads is not None else DEFAULT_WORKLOADS
    for name in names:
        if name not in WORKLOADS:
            raise InputError(f"unknown workload {name!r}: choose from {', '.join(WORKLOADS)}")
    names = tuple(dict.fromkeys(names))  # a workload named twice is measured once, as sizes and mechanisms
    tiers = tuple(parse_impls(impls)) if impls else ()
    options = RunOptions(
        profile=profile, transports=tuple(pairs), sizes=size_list, workloads=names, impls=tiers
    )
    options = replace(options, **{k: v for k, v in kwargs.items() if v is not None})  # type: ignore[arg-type]
    options = finalise(options, registry)
    if not cells(options, registry):
        raise InputError(
            "nothing to run in the chosen tiers and workloads: the mutex variant runs in the native tier "
            "only, the test mock and the unsync demonstration in the Python tier only, unsync with "
            "--workloads stream only"
        )
    return options


def parse_impls(text: str) -> list[str]:
    """``python,native`` -> ["python", "native"]; ``InputError`` for anything else."""
    words = [word.strip() for word in text.split(",") if word.strip()]
    for word in words:
        if word not in IMPLS:
            raise InputError(f"unknown --impl {word!r}: choose from {', '.join(IMPLS)}")
    if not words:
        raise InputError("no --impl given")
    return list(dict.fromkeys(words))


def default_impls() -> tuple[str, ...]:
    """Both tiers where the native one is available; the Python tier alone where it is not."""
    return IMPLS if native.unavailable() is None else ("python",)


def _words(text: str, option: str) -> tuple[str, ...]:
    words = tuple(word.strip() for word in text.split(",") if word.strip())
    if not words:
        raise InputError(f"{option} is empty: name at least one")
    return words


def finalise(options: RunOptions, registry: Registry = REGISTRY) -> RunOptions:
    """Fill the profile's defaults and check the numbers."""
    profile = PROFILES[options.profile]
    if not options.sizes and not options.impls:  # the profile's own choice: its coverage applies
        options = replace(
            options,
            native_sizes=profile.native_sizes or (),
            round_trips_up_to=profile.round_trips_up_to or 0,
        )
    options = replace(
        options,
        transports=options.transports or profile_pairs(profile, registry),
        impls=options.impls or default_impls(),
        sizes=options.sizes or profile.sizes,
        repeats=profile.repeats if options.repeats is None else options.repeats,
        budget_s=profile.budget_s if options.budget_s is None else options.budget_s,
    )
    if options.repeats is None or options.budget_s is None:
        raise AssertionError("unreachable: filled from the profile above")
    if not 1 <= options.repeats <= MAX_REPEATS:
        raise InputError(f"--repeats must be from 1 to {MAX_REPEATS}, got {options.repeats}")
    if options.pin not in PINS:
        raise InputError(f"unknown --pin {options.pin!r}: choose from {', '.join(PINS)}")
    _check_seconds(options.timeout_s, "--timeout", MAX_TIMEOUT_S)
    _check_seconds(options.budget_s, "--budget", MAX_BUDGET_S)
    if options.budget_s >= options.timeout_s:
        raise InputError(
            f"--budget {options.budget_s:g} s per run cannot finish within --timeout {options.timeout_s:g} s"
        )
    if options.verify_every < 1:
        raise InputError("--verify-every must be at least 1")
    check_name(options.label, "--label")
    check_name(options.machine_name, "--machine-name", folder=True)
    if options.tune:
        from ipcbench.machine import read_limits

        tuning.parse(options.tune, read_limits())  # a value the kernel refuses stops here, before any run
    return options


def profile_pairs(profile: Profile, registry: Registry = REGISTRY) -> tuple[tuple[str, str | None], ...]:
    """Every installed mechanism and variant the profile measures when none is named, and the
    demonstrations (``unsync``: a few short stream cells, which the report's claim 3 cites)."""
    pairs = all_pairs(registry, demonstrations=True)
    return tuple(pair for pair in pairs if label(*pair) not in profile.leaves_out)


def _check_seconds(value: float, option: str, most: float) -> None:
    """Finite, positive and not absurd: nan, inf or 1e10 would pass into timers and JSON and fail there."""
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{option} must be a positive number of seconds, got {value}")
    if value > most:
        raise InputError(f"{option} must be at most {most:g} seconds, got {value:g}")


def check_name(name: str | None, option: str, folder: bool = False) -> None:
    """A label or machine name becomes part of a path: bounded, and a machine name is one plain folder."""
    if name is None:
        return
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise InputError(f"{option} is too long: at most {MAX_NAME_BYTES} bytes, got {name[:20]!r}...")
    if folder and (name in ("", ".", "..") or "/" in name or "\0" in name or name.startswith(".")):
        raise InputError(
            f"{option} must be a plain folder name (no '/', not hidden, not '.' or '..'): {name!r}"
        )


def cells(options: RunOptions, registry: Registry = REGISTRY) -> list[Cell]:
    """Every cell of the run, in the tiers that have it: a variant only the native tier has is never planned
    for the Python tier, nor a mechanism without C loops (the test mock, the ``unsync`` demonstration) for
    the native one; and within the profile's coverage."""
    tunes = tuning.parse(options.tune, {}) if options.tune else {}
    return [
        Cell(name, variant, workload, size, impl, tune)
        for size in options.sizes
        for workload in options.workloads
        for name, variant in options.transports
        for impl in options.impls
        for tune in tuning.combinations(tunes, tunables(registry, name, variant, impl))
        if in_tier(impl, name, variant, registry)
        and shown_with(registry[name], variant, workload)
        and covered(options, impl, workload, size)
    ]


def shown_with(cls: type[Transport], variant: str | None, workload: str) -> bool:
    """Whether a cell is planned for this workload: a demonstration variant only with a workload that
    counts its damage (``stream``), every other variant with every workload."""
    return variant not in cls.demonstrations or workloads.get(workload).demonstrates


def covered(options: RunOptions, impl: str, workload: str, size: int) -> bool:
    """Whether the profile's coverage has this cell (``Profile.native_sizes``, ``round_trips_up_to``)."""
    if impl == "native" and options.native_sizes and size not in options.native_sizes:
        return False
    most = options.round_trips_up_to
    return not (most and size > most and workloads.get(workload).lockstep)


def in_tier(impl: str, name: str, variant: str | None, registry: Registry = REGISTRY) -> bool:
    """Whether a tier has this cell: the native tier needs C loops for the mechanism, the Python tier
    cannot run a native-only variant."""
    return tier_has(registry[name], impl, variant)


def tier_has(cls: type[Transport], impl: str, variant: str | None) -> bool:
    return variant in cls.native_variants if impl == "native" else variant not in cls.native_only


def tunables(registry: Registry, name: str, variant: str | None, impl: str) -> tuple[str, ...]:
    """The ``--tune`` keys a cell honours: the mechanism's, less ``receive`` in the native tier, whose C
    loop always copies the message out (an in-place label on it would name what it did not do)."""
    keys = registry[name].tunables_for(variant)
    return keys if impl == "python" else tuple(key for key in keys if key != "receive")


def placement(pin: str) -> tuple[int | None, int | None, str]:
    """(initiator CPU, peer CPU, placement label) for a ``--pin`` choice on this machine."""
    cpus = sorted(os.sched_getaffinity(0))
    if pin == "auto":
        pin = "cross" if len(cpus) >= 2 else "same"
    if pin == "cross":
        if len(cpus) < 2:
            raise InputError("--pin cross needs two usable CPUs; this process may use only one")
        return cpus[0], cpus[1], "cross-core"
    if pin == "same" or len(cpus) == 1:
        # With one usable CPU (taskset, a cgroup's cpuset) "none" is same-core as well: both sides share it
        # whatever the scheduler does, so the run says so and a spinning waiter yields, as with --pin same,
        # instead of spinning out its time slices and blaming a busy machine.
        return cpus[0], cpus[0], "same-core"
    return None, None, "unpinned"
