"""Kernel buffers and wait budgets as recorded, selectable settings: ``run --tune KEY=VALUE[,VALUE]``.

Every mechanism is measured with its default buffers unless told otherwise, and a tuned measurement is a
different experiment: a tuned cell carries its requested setting in ``cell["tune"]`` (part of its identity
everywhere: ``show``, ``compare``, ``history``, ``load``, exports, labelled ``pipe[pipe_buffer=1M]``), and
the value actually in force, read back from the kernel, in ``cell["params"]``. A value list
(``--tune pipe_buffer=default,1M``) measures each value as its own cell; ``default`` is the untuned cell.

A setting applies to the mechanisms that have it (``Transport.tunables``) and leaves the others alone. A
value the kernel would refuse, or would silently clamp, stops the run before anything runs, with the
``sysctl`` that would allow it: a clamped buffer would be a different experiment under the requested label.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

from ipcbench.errors import InputError
from ipcbench.units import format_size, parse_size

Tune = tuple[tuple[str, Any], ...]  # sorted (key, value) pairs; () is the untuned cell


@dataclass(frozen=True)
class Setting:
    """One key of ``--tune``: how its values are read, checked, and shown."""

    key: str
    meaning: str
    parse: Callable[[str], Any]
    check: Callable[[Any, dict[str, Any]], str | None]  # why the kernel would refuse it, or None
    show: Callable[[Any], str] = str


def _size(text: str) -> int:
    return parse_size(text, largest=None)  # a buffer, not a message: the sysctl's check names its limit


def _whole(text: str) -> int:
    if not text.isdigit():
        raise InputError(f"expected a whole number, got {text!r}")
    return int(text)


def _power_of_two(text: str) -> int:
    value = _whole(text)
    if value < 1 or value & (value - 1) or value > 4096:
        raise InputError(f"ring slots must be a power of two from 1 to 4096, got {value}")
    return value


def _receive(text: str) -> str:
    if text not in ("copy", "inplace"):
        raise InputError(f"receive is copy or inplace, got {text!r}")
    return text


def _pipe_check(value: int, limits: dict[str, Any]) -> str | None:
    ceiling = limits.get("pipe_max_size")
    if ceiling is not None and value > ceiling:
        return f"above fs.pipe-max-size ({ceiling}); to allow it: sysctl -w fs.pipe-max-size={value}"
    read, write = os.pipe()
    try:
        fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, value)
    except OSError as exc:
        hint = "fs.pipe-user-pages-soft" if exc.errno == errno.EPERM else "fs.pipe-max-size"
        return f"refused by the kernel ({os.strerror(exc.errno or 0)}); see sysctl {hint}"
    finally:
        os.close(read)
        os.close(write)
    return None


def _socket_check(value: int, limits: dict[str, Any]) -> str | None:
    for key, sysctl in (("wmem_max", "net.core.wmem_max"), ("rmem_max", "net.core.rmem_max")):
        ceiling = limits.get(key)
        if ceiling is not None and value > ceiling:
            return (
                f"above {sysctl} ({ceiling}), which the kernel would silently clamp to; "
                f"to allow it: sysctl -w {sysctl}={value}"
            )
    return None


def _depth_check(value: int, limits: dict[str, Any]) -> str | None:
    ceiling = limits.get("mq_msg_max")
    if ceiling is not None and value > ceiling:
        return f"above fs.mqueue.msg_max ({ceiling}); to allow it: sysctl -w fs.mqueue.msg_max={value}"
    return None


def _no_check(value: Any, limits: dict[str, Any]) -> str | None:
    return None


SETTINGS = {
    s.key: s
    for s in (
        Setting("pipe_buffer", "pipe and FIFO buffer (F_SETPIPE_SZ)", _size, _pipe_check, format_size),
        Setting(
            "socket_buffer",
            "socket send and receive buffers (SO_SNDBUF, SO_RCVBUF)",
            _size,
            _socket_check,
            format_size,
        ),
        Setting("queue_depth", "POSIX queue depth (mq_maxmsg)", _whole, _depth_check),
        Setting(
            "slots", "shared-memory ring slots per direction (stream, openloop)", _power_of_two, _no_check
        ),
        Setting("spin_us", "hybrid wait: microseconds of polling before sleeping", _whole, _no_check),
        Setting("receive", "shared memory: copy the message out, or check it in place", _receive, _no_check),
    )
}


def parse(words: list[str] | tuple[str, ...], limits: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """``["pipe_buffer=default,1M"]`` -> ``{"pipe_buffer": (None, 1048576)}`` (None: the default), each
    value checked against the kernel's limits now; ``InputError`` names the sysctl of a refused one."""
    tunes: dict[str, tuple[Any, ...]] = {}
    for word in words:
        key, sep, text = word.partition("=")
        key = key.strip()
        if not sep or key not in SETTINGS:
            raise InputError(f"--tune {word!r}: use KEY=VALUE[,VALUE] with KEY one of {', '.join(SETTINGS)}")
        if key in tunes:
            raise InputError(f"--tune {key} given twice: list its values once, comma-separated")
        setting = SETTINGS[key]
        values: list[Any] = []
        for item in (part.strip() for part in text.split(",")):
            value = None if item == "default" else _parsed(setting, item)
            if value is not None and (problem := setting.check(value, limits)) is not None:
                raise InputError(f"--tune {key}={item}: {problem}")
            if value not in values:
                values.append(value)
        tunes[key] = tuple(values)
    return tunes


def _parsed(setting: Setting, text: str) -> Any:
    try:
        return setting.parse(text)
    except InputError as exc:
        raise InputError(f"--tune {setting.key}={text}: {exc}") from None


def combinations(tunes: dict[str, tuple[Any, ...]], applicable: tuple[str, ...]) -> list[Tune]:
    """Every combination of the values of the keys that apply to one mechanism (``()`` when none do)."""
    keys = [key for key in sorted(tunes) if key in applicable]
    found: list[Tune] = []
    for values in product(*(tunes[key] for key in keys)):
        found.append(
            tuple((key, value) for key, value in zip(keys, values, strict=True) if value is not None)
        )
    return found or [()]


def text(tune: Tune | dict[str, Any] | None) -> str:
    """``pipe_buffer=1M,spin_us=10``: a setting as labels show it ('' for the untuned cell)."""
    pairs = sorted(tune.items()) if isinstance(tune, dict) else list(tune or ())
    return ",".join(f"{key}={_show(key, value)}" for key, value in pairs)


def _show(key: str, value: Any) -> str:
    setting = SETTINGS.get(key)
    return setting.show(value) if setting is not None else str(value)
