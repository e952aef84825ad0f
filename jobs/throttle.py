"""At most one call per interval, and always one after the last request: a trailing-edge throttle."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TrailingThrottle:
    """Runs ``action`` for a request now, or soon after on a timer thread; never skips it.

    Every request is followed by a run of ``action`` that *starts after the request*: the
    request runs it itself when the last run is at least ``interval_s`` old, else it leaves
    it to a timer that fires at the end of the interval (one timer covers every request made
    meanwhile). That is what lets a delivery skip its own "please drain the inbox" round trip:
    a drain requested after its commit is still certain to come.
    """

    def __init__(
        self,
        action: Callable[[], None],
        interval_s: float,
        on_timer_error: Callable[[Exception], None],
    ) -> None:
        self.action = action
        self.interval_s = interval_s
        self._on_timer_error = on_timer_error
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._timer: threading.Timer | None = None

    def __call__(self) -> None:
        """Run now (errors reach the caller) or make sure the timer will."""
        with self._lock:
            now = time.monotonic()
            run_now = self._timer is None and now - self._last >= self.interval_s
            if run_now:
                self._last = now
            elif self._timer is None:
                self._timer = threading.Timer(self._last + self.interval_s - now, self._run_from_timer)
                self._timer.daemon = False  # a process exiting waits the few ms for it
                self._timer.start()
        if run_now:
            self.action()

    def _run_from_timer(self) -> None:
        with self._lock:
            self._timer = None  # from here on, a new request starts a new interval
            self._last = time.monotonic()
        try:
            self.action()
        except Exception as error:  # nobody waits for a timer: report, and let the caller decide
            self._on_timer_error(error)

    def flush(self) -> None:
        """Run a pending timer's action now (on shutdown, or in tests)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self._run_from_timer()
