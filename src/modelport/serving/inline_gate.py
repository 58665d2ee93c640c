"""Whether a plain run() may be called on the event loop itself (runner.py calls it there while
no other call is in progress), and how an over-budget call on the loop is told from a preempted one.
"""

from __future__ import annotations

from resource import RUSAGE_THREAD, getrusage, struct_rusage

INLINE_QUALIFY = 32  # consecutive short runs before a run() may be called on the loop
INLINE_QUALIFY_MAX = 1 << 20
FAR_OVER_BUDGET = 10
REQUALIFY_MIN = 4  # short thread calls that bring run() back after a first moderate overrun


class InlineGate:
    """Whether an idle server may call a plain run() on the event loop instead of a thread.

    The loop is blocked while run() runs there (health checks, other connections and the 503/504
    timers wait), so only a run() whose last ``needed`` calls each took at most ``budget`` seconds
    qualifies. A call over budget on the loop sends the next calls back to threads until the
    streak is rebuilt (a busy host stalls a 0.2 ms call for a few ms now and then). One over ten
    times the budget also doubles ``needed``: a script whose run() is usually fast and sometimes
    slow blocks the loop ever more rarely (after 32, 64, 128, … fast calls), never repeatedly.

    A call a little over budget is mostly the host's doing (the loop thread preempted on a loaded
    machine), and each call sent to a thread costs ~70 µs more CPU: it needs only ``penalty``
    short calls (4) to come back, doubling while overruns follow each other closely (up to
    ``needed``), and reset after ``needed`` short calls in a row on the loop. A run() that is
    always a little slow so converges to one call on the loop per ``needed`` + 1, as before.
    """

    def __init__(self, budget_s: float) -> None:
        self.budget = budget_s
        self.needed = INLINE_QUALIFY
        self.streak = 0
        self.penalty = REQUALIFY_MIN
        self.loop_calls = 0
        self.thread_calls = 0
        self.overruns = 0
        self.preempted = 0  # over budget only because the loop thread was preempted

    @property
    def open(self) -> bool:
        return self.budget > 0 and self.streak >= self.needed

    def observe(self, seconds: float) -> None:
        """A call that ran on a thread."""
        self.thread_calls += 1
        self.streak = self.streak + 1 if seconds <= self.budget else 0

    def short_on_loop(self) -> None:
        """A call on the loop within budget."""
        self.streak += 1
        if self.streak >= 2 * self.needed:  # a long clean run: the next overrun starts small
            self.penalty = REQUALIFY_MIN

    def overran(self, seconds: float) -> bool:
        """A call on the loop took longer than the budget; True when it was far over."""
        self.overruns += 1
        if seconds <= FAR_OVER_BUDGET * self.budget:
            self.streak = max(0, self.needed - self.penalty)
            self.penalty = min(self.penalty * 2, self.needed)
            return False
        self.streak = 0
        self.needed = min(self.needed * 2, INLINE_QUALIFY_MAX)
        self.penalty = self.needed
        return True


def preempted(before: struct_rusage, budget: float) -> bool:
    """An over-budget call on the loop that never waited of its own accord (no voluntary context
    switch: no sleep, I/O or lock) and used at most the budget in CPU: the loop thread was only
    preempted (a loaded host stalls a 0.2 ms call for 20-30 ms now and then)."""
    after = getrusage(RUSAGE_THREAD)
    cpu: float = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return after.ru_nvcsw == before.ru_nvcsw and cpu <= budget
