"""The payload contract, identical for every mechanism.

Every message is ``size`` bytes, all written by the sender and read by the receiver into its own buffer. Its
first and last 8 bytes hold the sequence number (little-endian int64), so a lost, duplicated, reordered or
truncated message is caught by a check of two integers. The bytes between come from one of ``PATTERNS``
random bodies, chosen by ``seq % PATTERNS``: a mechanism that skipped copying a body would leave the previous
occupant of the slot in place, and that occupant carries a different body (ring sizes are powers of two,
never multiples of 7), so a full comparison catches it.

A full comparison is one ``bytearray == bytearray`` (a memcmp, no allocation) against the expected message,
which the receiver builds by stamping the sequence number into its own copy of the body.
"""

from __future__ import annotations

import struct

import numpy as np

from ipcbench.errors import PayloadError

PATTERNS = 7
SEQ = struct.Struct("<q")
SEQ_BYTES = SEQ.size


class Payload:
    """The sender's messages, or the receiver's expected ones: ``PATTERNS`` preallocated buffers."""

    def __init__(self, size: int, seed: int) -> None:
        if size < 2 * SEQ_BYTES:
            raise ValueError(f"a message must hold two sequence numbers ({2 * SEQ_BYTES} bytes)")
        self.size = size
        self.tail = size - SEQ_BYTES
        base = np.random.default_rng(seed).integers(0, 256, size + PATTERNS, dtype=np.uint8).tobytes()
        self.buffers = [bytearray(base[k : k + size]) for k in range(PATTERNS)]

    def message(self, seq: int) -> bytearray:
        """The buffer for message ``seq``, stamped with its sequence number at both ends."""
        buf = self.buffers[seq % PATTERNS]
        SEQ.pack_into(buf, 0, seq)
        SEQ.pack_into(buf, self.tail, seq)
        return buf

    def verify(self, seq: int, received: bytearray) -> None:
        """Full check: sequence numbers and every byte of the body. Raises ``PayloadError``."""
        if received != self.message(seq):
            raise PayloadError(self.diagnose(seq, received))

    def verify_seq(self, seq: int, received: bytearray) -> None:
        """Cheap check of the two sequence numbers only."""
        if SEQ.unpack_from(received, 0)[0] != seq or SEQ.unpack_from(received, self.tail)[0] != seq:
            raise PayloadError(self.diagnose(seq, received))

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
