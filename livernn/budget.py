"""Token buckets: how often something may happen (pure: time is passed in).

One mechanism for every rate limit in livernn: a voice's reseeds (engine clock) and the
server's reply budgets (``livernn.server.Buckets`` keeps one bucket per sender).
"""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; it starts full."""

    __slots__ = ("rate", "burst", "tokens", "then")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.then: float | None = None

    def take(self, now: float) -> bool:
        """Spend one token if there is one (True), else False."""
        if self.then is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.then) * self.rate)
        self.then = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
