"""Counting semaphores over Linux eventfds, the waiting side of ``posix-shm/eventfd``.

An eventfd created with ``EFD_SEMAPHORE`` behaves as a counting semaphore held by the kernel: a write adds
to the counter, a read sleeps while it is zero and then takes one. Every post and every wait is exactly one
system call (``write``/``read`` on the fd); a POSIX named semaphore, by contrast, stays in user space while
it does not have to sleep (a futex). The fds are created by the runner before it forks the measuring pair
and inherited by both; they are not named objects, so nothing can outlive the processes holding them.
"""

from __future__ import annotations

import contextlib
import functools
import os


class EventfdSemaphore:
    """``acquire``/``release`` over one eventfd, the interface ``shm_ring.ring_endpoint`` waits with."""

    def __init__(self, initial: int) -> None:
        self.fd = os.eventfd(initial, os.EFD_SEMAPHORE | os.EFD_CLOEXEC)
        # partials, not methods: the hot path calls the os functions with no Python frame in between.
        self.acquire = functools.partial(os.eventfd_read, self.fd)
        self.release = functools.partial(os.eventfd_write, self.fd, 1)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def eventfd_pairs(initials: tuple[int, ...]) -> list[tuple[EventfdSemaphore, ...]]:
    """Per direction, one semaphore per initial value: ``(filled, free)``, or ``(filled,)`` in lockstep."""
    return [tuple(EventfdSemaphore(value) for value in initials) for _direction in range(2)]
