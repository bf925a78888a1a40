"""A ledger of the kernel objects a runner has created, so that a killed run can be cleaned up later.

SysV objects have numeric keys and outlive every process; POSIX objects, FIFOs and socket files outlive
theirs too. Before a runner creates an object it writes the object into its ledger file (one file per
runner, named after its pid and the process start time, so a recycled pid is never mistaken for it); after
removing it, it strikes it out. ``ipcbench clean`` (and the start of every ``ipcbench run``) removes the
objects of ledgers whose owner is dead, and never touches a live run's objects or objects that are not
ipcbench's: only what a ledger names is removed, and only after checking that the object really is the dead
owner's (see ``_not_ours``): a ledger is a claim, the kernel's own record of the object is the proof.
Which kinds of object exist, and where the kernel shows each, is declared by the mechanisms that make them
(``Transport.ledger_kinds``: a ``SysvKind`` or a ``PosixKind``); the private folders are the ledger's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Entry = tuple[str, str]  # (kind, identifier): ("sysv-shm", "12345"), ("posix-mq", "/ipcbench-..."), ...


def state_dir() -> Path:
    """The private folder (mode 0700) for ledgers, FIFOs and socket files of this user."""
    path = Path(os.environ.get("IPCBENCH_STATE_DIR") or f"{tempfile.gettempdir()}/ipcbench-{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} must be a folder owned by you with mode 0700; remove it and retry")
    return path


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (which may contain spaces and parentheses): field 3 onwards."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot): with the pid, it names one process for good."""
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]


def owner_tag(pid: int | None = None) -> str:
    """``PID-STARTTIME`` of a process (this one by default): the prefix of everything it owns."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{process_start_time(pid)}"


def _owner_alive(tag: str) -> bool:
    """True while the process named by ``tag`` runs. A zombie counts as dead: a SIGKILLed runner whose parent
    has not reaped it yet can never remove anything again, and its objects are orphans already."""
    pid_text, _, start = tag.partition("-")
    fields = _stat_fields(int(pid_text)) if pid_text.isdigit() else None
    return fields is not None and fields[19] == start and fields[0] not in ("Z", "X")


@dataclass
class Ledger:
    """The objects one runner process has created and not yet removed, mirrored to a file."""

    directory: Path = field(default_factory=state_dir)
    tag: str = field(default_factory=owner_tag)
    entries: list[Entry] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.directory / f"{self.tag}.ledger"

    def add(self, kind: str, identifier: str) -> None:
        """Record an object *before* creating it, so a kill between the two still leaves a trace."""
        self.entries.append((kind, identifier))
        self._write()

    def discard(self, kind: str, identifier: str) -> None:
        with contextlib.suppress(ValueError):
            self.entries.remove((kind, identifier))
        self._write()

    def sweep(self, kinds: dict[str, ObjectKind]) -> list[str]:
        """Remove what this runner recorded and no transport struck out, and forget it; return what was
        removed. An interrupt between an object's creation and the transport keeping its handle leaves the
        object known only here, so the runner sweeps after every run. The same ownership checks as
        ``clean`` apply: an entry can name a key that a collision made someone else's."""
        removed: list[str] = []
        for kind, identifier in list(self.entries):
            reason = _not_ours(kinds.get(kind), identifier, self.tag, self.directory)
            if reason is None and remove_object(kinds.get(kind), identifier):
                removed.append(f"{kind} {identifier}")
            self.discard(kind, identifier)
        return removed

    def private_dir(self) -> Path:
        """A fresh folder (mode 0700) for FIFOs and socket files, recorded in the ledger."""
        path = Path(tempfile.mkdtemp(prefix=f"{self.tag}-", dir=self.directory))
        self.add("dir", str(path))
        return path

    def _write(self) -> None:
        if not self.entries:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"owner": self.tag, "entries": self.entries}))
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class SysvKind:
    """A kind of SysV object a mechanism records: found by key in ``/proc/sysvipc/<table>``, removed by id."""

    table: str  # "shm", "sem", "msg"
    id_column: str  # its id column there: "shmid", "semid", "msqid"
    remover: str  # the sysv_ipc function that removes one by id
    creator_pid: bool = False  # the kernel records the creating pid (segments): it must be the owner's


@dataclass(frozen=True)
class PosixKind:
    """A kind of POSIX named object a mechanism records: a file of a kernel filesystem, unlinked by name."""

    path: str  # where the kernel shows it, ``{}`` standing for the name without its slash
    unlinker: str  # the posix_ipc function that unlinks one by name


ObjectKind = SysvKind | PosixKind


def known_kinds() -> dict[str, ObjectKind]:
    """Every kind of object the installed mechanisms record (``Transport.ledger_kinds``); the private
    folders (``dir``) are the ledger's own kind."""
    from ipcbench.transports import REGISTRY

    return REGISTRY.ledger_kinds()


# Clock jitter allowed between a process's start time and the ctime of the objects it made.
_START_SLACK_S = 2.0


def _sysv_row(kind: SysvKind, key: int) -> dict[str, str] | None:
    """The kernel's own record of a SysV object (perms, creator uid, creator pid for shm, ctime), by key."""
    try:
        lines = Path(f"/proc/sysvipc/{kind.table}").read_text().splitlines()
    except OSError:
        return None
    header = lines[0].split() if lines else []
    for line in lines[1:]:
        row = dict(zip(header, line.split(), strict=False))
        if row.get("key", "").lstrip("-").isdigit() and int(row["key"]) == key:
            return row
    return None


def _started_at(owner: str) -> float | None:
    """The owner's start as a Unix time: boot time + its start ticks (objects it made cannot be older)."""
    _, _, ticks = owner.partition("-")
    boot = re.search(r"^btime\s+(\d+)$", Path("/proc/stat").read_text(), re.MULTILINE)
    if boot is None or not ticks.isdigit():
        return None
    return int(boot.group(1)) + int(ticks) / os.sysconf("SC_CLK_TCK")


def _not_ours(kind: ObjectKind | None, identifier: str, owner: str, directory: Path) -> str | None:
    """Why an object a dead run's ledger names must be left alone, or None if it is provably that run's.

    A ledger entry is written *before* the object exists, so after a kill it may name a key or a name that
    was never created by that run (a collision it was about to retry), or that someone else created since.
    The object must therefore also carry the owner's marks: our uid, mode 0600, created after the owner
    started (and by the owner's pid, for SysV segments); a POSIX name embeds the owner's pid; a folder sits
    in the state folder under the owner's tag."""
    pid = owner.partition("-")[0]
    started = _started_at(owner)
    if isinstance(kind, SysvKind):
        row = _sysv_row(kind, int(identifier))
        if row is None:
            return None  # already gone: removing it is a no-op
        if int(row["cuid"]) != os.getuid() or int(row["perms"], 8) & 0o777 != 0o600:
            return f"key {identifier} belongs to another user or has mode {row['perms']}"
        if kind.creator_pid and row["cpid"] != pid:
            return f"segment {identifier} was created by pid {row['cpid']}, not {pid}"
        if started is not None and int(row["ctime"]) < started - _START_SLACK_S:
            return f"key {identifier} is older than run {owner}"
        return None
    if isinstance(kind, PosixKind):
        if not re.fullmatch(rf"/ipcbench-{pid}-[0-9a-f]+", identifier):
            return f"{identifier} is not a name run {owner} would make"
        if kind.unlinker == "unlink_message_queue":
            return _queue_not_ours(identifier, started)
        return _file_not_ours(Path(kind.path.format(identifier[1:])), started)
    path = Path(identifier)
    if path.parent.resolve() != directory.resolve() or not path.name.startswith(f"{owner}-"):
        return f"{identifier} is not a folder of run {owner} in {directory}"
    return _file_not_ours(path, started)


def _file_not_ours(path: Path, started: float | None) -> str | None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None  # already gone: removing it is a no-op
    except OSError as exc:
        return f"cannot read the owner and age of {path}: {exc.strerror or exc}"
    return _info_not_ours(str(path), info, started)


def _queue_not_ours(name: str, started: float | None) -> str | None:
    """A POSIX queue's owner and age, read through a descriptor: on Linux an ``mqd_t`` is a file
    descriptor that ``fstat`` answers, so the proof does not depend on /dev/mqueue being mounted (on many
    machines and containers it is not). Deliberate choice: a queue whose owner and age cannot be read (it
    cannot be opened by this user) is left alone and named, never removed on its name alone."""
    import posix_ipc

    try:
        queue = posix_ipc.MessageQueue(name, read=True, write=False)
    except posix_ipc.ExistentialError:
        return None  # already gone: removing it is a no-op
    except (posix_ipc.Error, OSError) as exc:
        return f"cannot read the owner and age of queue {name}: {exc}"
    try:
        info = os.fstat(queue.mqd)
    except OSError as exc:
        return f"cannot read the owner and age of queue {name}: {exc.strerror or exc}"
    finally:
        queue.close()
    return _info_not_ours(f"queue {name}", info, started)


def _info_not_ours(what: str, info: os.stat_result, started: float | None) -> str | None:
    if info.st_uid != os.getuid():
        return f"{what} belongs to uid {info.st_uid}"
    if started is not None and info.st_ctime < started - _START_SLACK_S:
        return f"{what} is older than the run that names it"
    return None


def remove_object(kind: ObjectKind | None, identifier: str) -> bool:
    """Remove one object named in a ledger (``kind`` None: a private folder); False if it was already gone.
    The binding library is imported only for an object of its kind."""
    try:
        if isinstance(kind, SysvKind):
            import sysv_ipc

            # Remove by id, the object just checked, not by key (which could be re-created in between).
            row = _sysv_row(kind, int(identifier))
            if row is None:
                return False
            with contextlib.suppress(sysv_ipc.ExistentialError):
                getattr(sysv_ipc, kind.remover)(int(row[kind.id_column]))
                return True
            return False
        if isinstance(kind, PosixKind):
            import posix_ipc

            with contextlib.suppress(posix_ipc.ExistentialError):
                getattr(posix_ipc, kind.unlinker)(identifier)
                return True
            return False
        if not os.path.isdir(identifier):
            return False
        shutil.rmtree(identifier)
    except FileNotFoundError:
        return False
    return True


def _ledgers(directory: Path, kinds: dict[str, ObjectKind]) -> Iterator[tuple[Path, str, list[Entry]]]:
    """Every readable ledger as (file, owner tag, well-formed entries); a damaged one is skipped, never
    trusted: an entry must be a known kind with an identifier of the right shape."""
    for path in sorted(directory.glob("*.ledger")):
        try:
            ledger = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError):
            continue
        if not isinstance(ledger, dict) or not re.fullmatch(r"\d+-\d+", str(ledger.get("owner"))):
            continue
        raw = ledger.get("entries")
        entries = [(e[0], e[1]) for e in raw if _well_formed(e, kinds)] if isinstance(raw, list) else []
        yield path, ledger["owner"], entries


def _well_formed(entry: Any, kinds: dict[str, ObjectKind]) -> bool:
    if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
        return False
    kind, identifier = str(entry[0]), str(entry[1])
    if isinstance(kinds.get(kind), SysvKind):
        return identifier.isdigit() and 0 < int(identifier) < 1 << 31
    return (kind in kinds or kind == "dir") and identifier.startswith("/")


def clean(
    directory: Path | None = None,
    refused: list[str] | None = None,
    kinds: dict[str, ObjectKind] | None = None,
) -> list[str]:
    """Remove every object recorded by runners that are no longer alive; return what was removed.

    Objects a dead run's ledger names but that fail the ownership checks (``_not_ours``) are left alone
    and described in ``refused``; so is anything a live run's ledger also names. ``kinds``: the kinds of
    object the mechanisms record (default: the installed mechanisms'); an entry of another kind is left."""
    directory = state_dir() if directory is None else directory
    refused = [] if refused is None else refused
    kinds = known_kinds() if kinds is None else kinds
    ledgers = list(_ledgers(directory, kinds))
    live = {entry for _, owner, entries in ledgers if _owner_alive(owner) for entry in entries}
    removed: list[str] = []
    for path, owner, entries in ledgers:
        if _owner_alive(owner):
            continue
        for kind, identifier in entries:
            reason = _not_ours(kinds.get(kind), identifier, owner, directory)
            if (kind, identifier) in live:
                reason = "a live run's ledger names it too"
            if reason is not None:
                refused.append(f"{kind} {identifier}: {reason}")
            elif remove_object(kinds.get(kind), identifier):
                removed.append(f"{kind} {identifier} (left by dead run {owner})")
        path.unlink(missing_ok=True)
    for leftover in directory.glob("*.tmp"):
        if not _owner_alive(leftover.stem):
            leftover.unlink(missing_ok=True)
    return removed


def live_runs(directory: Path | None = None) -> list[str]:
    """Owner tags of runs that are alive now and hold objects (for ``ipcbench clean`` to mention)."""
    directory = state_dir() if directory is None else directory
    return [owner for _, owner, _ in _ledgers(directory, {}) if _owner_alive(owner)]
