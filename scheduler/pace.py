"""How soon a requested scheduling cycle runs.

Both modes wait ``COALESCE_S`` after a request, so requests made together (jobs
ending at once) are answered by one cycle. The embedded loop also rests after a
cycle as long as that cycle took (at most ``MAX_REST_S``): it shares one
interpreter with the request threads, and a cycle over thousands of pending jobs
would otherwise hold the GIL most of the time. The production worker is a process
of its own and does not rest: there a rest only delays the starts of jobs whose
CPUs just freed (1,000 trivial jobs end to end: 23.8 -> 21.4 jobs/s with it).
"""

from __future__ import annotations

import time

COALESCE_S = 0.01
MAX_REST_S = 1.0


class Pace:
    """When the embedded loop's next cycle may run."""

    def __init__(self) -> None:
        self._rest_until = 0.0

    def wait_s(self) -> float:
        """Seconds to wait, from now, before the next cycle."""
        return max(COALESCE_S, self._rest_until - time.monotonic())

    def ran(self, seconds: float) -> None:
        """A cycle of ``seconds`` just ended."""
        self._rest_until = time.monotonic() + min(seconds, MAX_REST_S)
