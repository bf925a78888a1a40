"""The payload contract, identical for every mechanism.

Every message is ``size`` bytes, all written by the sender and read by the receiver into its own buffer. Its
first and last 8 bytes hold the sequence number (little-endian int64), so a lost, duplicated, reordered or
truncated message is caught by a check of two integers. The message itself is one of ``PATTERNS`` windows
into one random buffer of ``size + PATTERNS`` bytes, chosen by ``seq % PATTERNS`` (window k starts at byte
k): consecutive messages carry different bodies, so a mechanism that skipped copying a body would leave the
previous occupant of the slot in place and fail the comparison (ring sizes are powers of two, never
multiples of 7). Windows overlap, so a stamp lands inside its neighbours; sender and receiver stamp the same
numbers in the same order into identical buffers (a receiver stamps every message it receives, checked
in full or not), so their windows stay identical. One buffer instead of
seven copies keeps a 16 MiB payload cheap to build in every process, and the runner draws it once per size
before forking (``random_bytes``): the runs of one result file share the seed (each still with fresh
objects and processes).

A full comparison is one ``bytearray == window`` (a memcmp, no allocation) against the expected message,
which the receiver builds by stamping the sequence number into its own copy of the buffer.
"""

from __future__ import annotations

import ctypes
import struct

import numpy as np

from ipcbench.errors import PayloadError

PATTERNS = 7
SEQ = struct.Struct("<q")
SEQ_BYTES = SEQ.size
# Timed workloads (``oneway``) carry a CLOCK_MONOTONIC time right after the leading sequence number; such
# messages must hold three int64s.
STAMP_AT = SEQ_BYTES
STAMPED_MIN = 3 * SEQ_BYTES


_RANDOM: dict[tuple[int, int], bytes] = {}


def random_bytes(size: int, seed: int) -> bytes:
    """The random buffer behind every message of ``size`` bytes for ``seed`` (``size + PATTERNS`` bytes).
    The latest one is kept: a runner makes it before forking (its runs share one seed), so both processes
    of every run at that size inherit it instead of each drawing it again (65 ms at 16 MiB)."""
    key = (size, seed)
    if key not in _RANDOM:
        _RANDOM.clear()
        _RANDOM[key] = np.random.default_rng(seed).bytes(size + PATTERNS)
    return _RANDOM[key]


class Payload:
    """The sender's messages, or the receiver's expected ones: ``PATTERNS`` preallocated buffers."""

    def __init__(self, size: int, seed: int) -> None:
        if size < 2 * SEQ_BYTES:
            raise ValueError(f"a message must hold two sequence numbers ({2 * SEQ_BYTES} bytes)")
        self.size = size
        self.tail = size - SEQ_BYTES
        self._base = bytearray(random_bytes(size, seed))
        base = memoryview(self._base)
        self.windows = [base[k : k + size] for k in range(PATTERNS)]

    @property
    def buffer(self) -> bytearray:
        """The whole random buffer the windows look into (the native tier stamps and compares in it)."""
        return self._base

    def message(self, seq: int) -> memoryview:
        """The window for message ``seq``, stamped with its sequence number at both ends."""
        buf = self.windows[seq % PATTERNS]
        SEQ.pack_into(buf, 0, seq)
        SEQ.pack_into(buf, self.tail, seq)
        return buf

    def verify(self, seq: int, received: bytearray) -> None:
        """Full check: sequence numbers and every byte of the body. Raises ``PayloadError``."""
        if received != self.message(seq):
            raise PayloadError(self.diagnose(seq, received))

    def verify_seq(self, seq: int, received: bytearray) -> None:
        """Cheap check of the two sequence numbers only. It still stamps the expected message: windows
        overlap, so the receiver's buffer stays identical to the sender's only if both stamp every
        message, in order."""
        self.message(seq)
        if SEQ.unpack_from(received, 0)[0] != seq or SEQ.unpack_from(received, self.tail)[0] != seq:
            raise PayloadError(self.diagnose(seq, received))

    def verify_view(self, seq: int, view: memoryview) -> None:
        """Full check of a message read where it lies (a writable view of a shared-memory slot), byte for
        byte with ``memcmp``: comparing two memoryviews in Python goes element by element, a hundred times
        slower, and copying the slot out first is exactly the copy an in-place reader avoids."""
        expected = self.message(seq)
        if len(view) != self.size or _memcmp(_address(view), _address(expected), self.size) != 0:
            raise PayloadError(self.diagnose(seq, view))  # type: ignore[arg-type]

    def verify_stamped(self, seq: int, received: bytearray) -> memoryview:
        """Full check of a message carrying a time stamp: the stamp is copied into the expected message
        first (both sides then hold the same bytes, so the overlapping windows stay in step), and every
        other byte is compared. Returns the expected window, so the caller can restamp it."""
        expected = self.message(seq)
        expected[STAMP_AT : STAMP_AT + SEQ_BYTES] = received[STAMP_AT : STAMP_AT + SEQ_BYTES]
        if received != expected:
            raise PayloadError(self.diagnose(seq, received))
        return expected

    def diagnose(self, seq: int, received: bytearray) -> str:
        """Say what went wrong with a message that failed a check (off the hot path)."""
        head = SEQ.unpack_from(received, 0)[0]
        tail = SEQ.unpack_from(received, self.tail)[0]
        if head != tail:
            return f"message {seq}: torn or truncated (sequence {head} at the start, {tail} at the end)"
        if head < seq:
            return f"message {seq}: got message {head} again (duplicated or stale)"
        if head > seq:
            return f"message {seq}: got message {head} instead (message {seq} lost or reordered)"
        expected = self.message(seq)
        offset = next(i for i in range(self.size) if received[i] != expected[i])
        return f"message {seq}: content differs from the expected pattern at byte {offset} of {self.size}"


_memcmp = ctypes.CDLL(None).memcmp
_memcmp.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_memcmp.restype = ctypes.c_int


def _address(view: memoryview) -> int:
    """The address of a writable buffer's first byte (valid while ``view`` lives)."""
    return ctypes.addressof(ctypes.c_char.from_buffer(view))
