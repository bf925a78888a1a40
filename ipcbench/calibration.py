"""How many messages a run measures: enough for about ``budget_s``, within the run's bounds.

The rate is probed with chunks of messages that grow until one lasts ``TARGET_S``; a second chunk of the
same count then confirms it and the faster of the two sets the rate, so one chunk slowed by a neighbour
does not shrink every run of the cell. The confirming chunk is left out where it cannot change the answer:
when even twice the probed rate would still give the fewest messages allowed (huge messages, where one
already lasts longer than the budget allows).

Workloads that calibrate inside their first measured run (``Workload.calibrates_in_run``) probe over the
run's own objects and process pair after its warm-up, telling the peer each chunk's size on the side
channel (``probe``, ``follow`` in ``workloads.base``); the others are calibrated by the runner with short
runs of their own. Both follow the rules here.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET_S = 0.004  # a probe chunk long enough for the clock and the wake-ups to average out
HUGE_MESSAGES = 4 << 20  # start at one message from here on: one already lasts longer than the target


@dataclass(frozen=True)
class Budget:
    """What a calibrated run aims at: ``seconds`` of measured messages, from ``low`` to ``high`` of them."""

    seconds: float
    low: int
    high: int

    def first_chunk(self, size: int) -> int:
        """Start small for huge messages: one 16 MiB round trip already lasts longer than the target."""
        return min(self.high, max(1, min(16, HUGE_MESSAGES // size)))

    def next_chunk(self, count: int, elapsed_s: float) -> int | None:
        """The next probe chunk after ``count`` messages took ``elapsed_s``; None once the rate is known."""
        if elapsed_s >= TARGET_S or count >= self.high:
            return None
        return min(self.high, int(count * max(2.0, 1.2 * TARGET_S / max(elapsed_s, 1e-9))))

    def confirms(self, per_message_s: float) -> bool:
        """Whether a confirming chunk could change the count: not when twice the rate is still too few."""
        return self.seconds / (per_message_s / 2) > self.low

    def count(self, per_message_s: float) -> int:
        return int(min(self.high, max(self.low, self.seconds / max(per_message_s, 1e-12))))
