"""Writing the files a user names with ``-o`` (the report, a comparison, an export), safely.

A regular file (or a name that does not exist yet) is written atomically: a temporary file in the same
folder, ``fsync``, then ``rename`` over the target, so a reader sees the old file or the new one, never half
of one, and no temporary file survives a failure or Ctrl-C. A rename would *replace* whatever the name is,
so other kinds of file are never renamed over: a character device or a FIFO (``/dev/null``,
``/dev/stdout``, a named pipe) is written into, as ``>`` in a shell would (a FIFO waits for its reader);
a folder, a block device or a socket is refused with one line. A symbolic link is followed, so the link
stays and its target is what gets written.

Every problem is an ``InputError`` (one line, exit status 2). ``check`` runs the same tests without writing,
so a command can refuse a bad ``-o`` before it does any work.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from ipcbench.errors import InputError

_TEMP_PREFIX_CHARS = 100  # a long target name must not make its temporary name too long for the folder


def check(path: Path, what: str) -> None:
    """Refuse, before any work, an output path that ``write`` could not write."""
    real, stream = _target(path, what)
    if stream:
        return
    folder = real.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the nearest existing ancestor: the rest will be created
    if not folder.is_dir():
        raise InputError(f"cannot write {what} to {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {what} to {path}: {folder} is not writable")
    longest = _name_max(folder)
    for part in real.relative_to(folder).parts:
        if len(os.fsencode(part)) > longest:
            raise InputError(f"cannot write {what} to {path}: a name in it is over {longest} bytes")


def write(text: str, path: Path, what: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` (see the module docstring for which kinds of file are written how).

    Characters UTF-8 cannot encode (a lone surrogate from a JSON escape of an undecodable byte) are written
    as ``\\udcff`` escapes: readable in a page, and the same escape inside a JSON string."""
    data = text.encode("utf-8", errors="backslashreplace")
    real, stream = _target(path, what)
    try:
        if stream:
            with open(real, "wb") as out:
                out.write(data)
        else:
            _replace(data, real)
    except OSError as exc:
        raise InputError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None


def _target(path: Path, what: str) -> tuple[Path, bool]:
    """(the real path behind any symbolic links, whether it is written into rather than replaced)."""
    real = Path(os.path.realpath(path))
    try:
        info = real.stat()
    except FileNotFoundError:
        return real, False
    except OSError as exc:
        raise InputError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"cannot write {what} to {path}: it is a folder; name a file")
    if stat.S_ISREG(info.st_mode):
        return real, False
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        return real, True
    raise InputError(f"cannot write {what} to {path}: not a regular file, character device or FIFO")


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _replace(data: bytes, real: Path) -> None:
    made = [folder for folder in (real.parent, *real.parent.parents) if not folder.exists()]
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(data, real)
    except BaseException:
        for folder in made:  # deepest first: leave no empty folders from a write that failed
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def replace_atomically(data: bytes, real: Path) -> None:
    """Replace the regular file ``real`` (in an existing folder): readers see the old or the new one."""
    tmp = write_temporary(data, real)
    try:
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_temporary(data: bytes, target: Path) -> str:
    """``data`` in a new temporary file beside ``target`` (synced, mode 0644), for a rename or link onto
    ``target``; returns its name. Nothing is left behind if writing fails."""
    prefix = f".{target.name[:_TEMP_PREFIX_CHARS]}."
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp
