"""The payload checks catch a corrupted, lost, duplicated, reordered or torn message: first on buffers,
then through real mechanisms with the fault injected on the wire by a test-only sender wrapper."""

from __future__ import annotations

import pytest

from ipcbench.errors import PayloadError, PeerError
from ipcbench.payload import PATTERNS, Payload
from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner
from ipcbench.transports import REGISTRY
from tests.conftest import IMPLS, skip_unless_tier_runs

ZMQ_MISSING = REGISTRY["zmq"].unavailable() is not None


def test_a_faithful_copy_passes() -> None:
    sender, receiver = Payload(100, seed=7), Payload(100, seed=7)
    for seq in range(3 * PATTERNS):
        receiver.verify(seq, bytearray(sender.message(seq)))


def test_consecutive_messages_have_different_bodies() -> None:
    payload = Payload(64, seed=1)
    bodies = {bytes(payload.message(seq)[8:-8]) for seq in range(PATTERNS)}
    assert len(bodies) == PATTERNS


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda m, p: m.__setitem__(40, m[40] ^ 1), "content differs from the expected pattern at byte 40"),
        (lambda m, p: m.__setitem__(slice(None), p.message(6)), "got message 6 instead"),
        (lambda m, p: m.__setitem__(slice(None), p.message(4)), "got message 4 again"),
        (lambda m, p: m.__setitem__(slice(92, 100), bytes(8)), "torn or truncated"),
    ],
    ids=["corrupt", "lost", "duplicate", "torn"],
)
def test_each_fault_is_named(mutate: object, expected: str) -> None:
    sender, receiver = Payload(100, seed=3), Payload(100, seed=3)
    message = bytearray(sender.message(5))
    mutate(message, Payload(100, seed=3))  # type: ignore[operator]
    with pytest.raises(PayloadError, match=expected):
        receiver.verify(5, message)


def test_a_stale_slot_body_is_caught_even_with_the_right_sequence_numbers() -> None:
    """A mechanism that copied only the sequence numbers would leave the previous body in place."""
    sender, receiver = Payload(64, seed=9), Payload(64, seed=9)
    for seq in range(4):
        receiver.verify(seq, bytearray(sender.message(seq)))
    stale = bytearray(sender.message(4))
    receiver.verify(4, stale)
    fresh = sender.message(5)
    stale[:8], stale[-8:] = fresh[:8], fresh[-8:]
    with pytest.raises(PayloadError, match="content differs"):
        receiver.verify(5, stale)


def test_a_receiver_that_checks_only_sequence_numbers_stays_in_step() -> None:
    sender, receiver = Payload(64, seed=2), Payload(64, seed=2)
    for seq in range(30):
        message = bytearray(sender.message(seq))
        if seq % 4:
            receiver.verify_seq(seq, message)
        else:
            receiver.verify(seq, message)


def measure(
    fault: str, transport: str, variant: str | None, workload: str, impl: str = "python", every: int = 1
) -> None:
    options = finalise(RunOptions(profile="quick", timeout_s=15, fault=fault, verify_every=every))
    Runner(options).measure_run(Cell(transport, variant, workload, 256, impl), count=40, warmup=2)


MECHANISMS = [
    ("pipe", None),
    ("posix-shm", "spin"),
    ("sysv-shm", "sem"),
    ("sysv-mq", None),
    ("tcp", None),
    # The library layer: a framed stream, a ring behind multiprocessing semaphores, a messaging library.
    ("mp-pipe", None),
    ("mp-shm", "sem"),
    pytest.param("zmq", None, marks=pytest.mark.skipif(ZMQ_MISSING, reason="pyzmq is not installed")),
    # Native only: shared memory with a process-shared mutex; a queue and a hybrid wait in both tiers.
    ("posix-shm", "mutex"),
    ("posix-mq", None),
    ("sysv-shm", "hybrid"),
]
IDS = ["pipe", "posix-shm/spin", "sysv-shm/sem", "sysv-mq", "tcp", "mp-pipe", "mp-shm/sem", "zmq"]
IDS += ["posix-shm/mutex", "posix-mq", "sysv-shm/hybrid"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("transport", "variant"), MECHANISMS, ids=IDS)
@pytest.mark.parametrize(
    ("fault", "workload", "expected"),
    [
        ("corrupt@7:peer", "pingpong", "initiator: PayloadError: message 7: content differs"),
        ("corrupt@7:initiator", "stream", "peer: PayloadError: message 7: content differs"),
        ("drop@7:initiator", "stream", "peer: PayloadError: message 7: got message 8 instead"),
        ("duplicate@7:initiator", "stream", "peer: PayloadError: message 8: got message 7 again"),
        ("reorder@7:initiator", "stream", "peer: PayloadError: message 7: got message 8 instead"),
    ],
    ids=["corrupt-echo", "corrupt", "drop", "duplicate", "reorder"],
)
def test_faults_on_the_wire_fail_the_run_loudly(
    transport: str, variant: str | None, fault: str, workload: str, expected: str, impl: str
) -> None:
    """The same faults, the same diagnosis, in both tiers: the native tier's switch is compiled in
    (ipcbench/_native_c/faults.c), its receiver's check is the unchanged C payload check."""
    skip_unless_tier_runs(impl, transport, variant)
    # The fault counts every message sent, warm-up included, so the 8th message sent is sequence 7.
    with pytest.raises(PeerError, match=expected):
        measure(fault, transport, variant, workload, impl)


@pytest.mark.parametrize("impl", IMPLS)
def test_verify_every_thins_the_full_comparison_alike_in_both_tiers(impl: str) -> None:
    """With ``--verify-every 4`` a corrupted body of message 5 passes (only its sequence numbers are
    checked) and one of message 8 is caught: the same rule in C as in Python."""
    skip_unless_tier_runs(impl, "pipe", None)
    measure("corrupt@5:initiator", "pipe", None, "stream", impl, every=4)
    with pytest.raises(PeerError, match="peer: PayloadError: message 8: content differs"):
        measure("corrupt@8:initiator", "pipe", None, "stream", impl, every=4)
