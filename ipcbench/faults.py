"""Test-only fault injection: wrappers that make a sender misbehave, so tests can prove the checks work.

A fault is described as ``KIND@SEQ:ROLE`` (for example ``corrupt@5:peer``) and reaches the peer processes
as an argument: ``RunOptions.fault``, or ``cli.main(argv, fault=...)`` from a test's launcher; no product
code reads it from the environment. The payload checks are never weakened: the fault happens on the wire,
the unchanged receiver must catch it.

Kinds: ``corrupt`` (flip one byte in the body), ``drop`` (skip the message), ``duplicate`` (send it twice),
``reorder`` (send SEQ+1 before SEQ), ``hang`` (stop forever before sending), ``crash`` (exit at once),
``garbage`` (send random bytes instead).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from ipcbench.transports.base import compose_echo, compose_exchange

KINDS = ("corrupt", "drop", "duplicate", "reorder", "hang", "crash", "garbage")


@dataclass(frozen=True)
class Fault:
    kind: str
    seq: int
    role: str  # "initiator" or "peer": whose sends misbehave

    @classmethod
    def parse(cls, text: str | None) -> Fault | None:
        if not text:
            return None
        kind, _, rest = text.partition("@")
        seq, _, role = rest.partition(":")
        if kind not in KINDS or not seq.isdigit() or role not in ("initiator", "peer"):
            raise ValueError(f"bad fault {text!r}: use KIND@SEQ:ROLE with KIND in {', '.join(KINDS)}")
        return cls(kind, int(seq), role)


class FaultySender:
    """Wraps an endpoint; counts messages sent and misbehaves at one of them."""

    def __init__(self, endpoint: Any, fault: Fault) -> None:
        self._endpoint = endpoint
        self._fault = fault
        self._count = 0
        self._held: bytearray | None = None
        # The fused round-trip halves of the real endpoint would bypass the fault: use composed ones.
        self.exchange = compose_exchange(self.send, endpoint.recv_into)
        self.echo = compose_echo(self.send, endpoint.recv_into)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._endpoint, name)

    def send(self, view: Any) -> None:
        index, self._count = self._count, self._count + 1
        if self._held is not None:
            self._endpoint.send(view)
            view, self._held = self._held, None
        elif index == self._fault.seq:
            view = self._misbehave(view)
            if view is None:
                return
        self._endpoint.send(view)

    def _misbehave(self, view: Any) -> Any:
        kind = self._fault.kind
        if kind == "corrupt":
            copy = bytearray(view)
            copy[len(copy) // 2] ^= 0xFF
            return copy
        if kind == "drop":
            return None
        if kind == "duplicate":
            self._endpoint.send(view)
            return view
        if kind == "reorder":
            self._held = bytearray(view)
            return None
        if kind == "hang":
            while True:
                time.sleep(3600)
        if kind == "crash":
            os._exit(3)
        return bytearray(os.urandom(len(view)))
