"""Pure timing rules for ingest: which frames to analyse, how long to wait before reconnecting."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FrameSampler:
    """Picks frames at a target rate from a stream of timestamps (seconds).

    Only picked frames are ever converted to pixels; the rest are decoded (H.264
    needs them as references) and dropped untouched.
    """

    fps: float
    _next_due: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError("fps must be positive")

    @property
    def interval(self) -> float:
        return 1.0 / self.fps

    def take(self, t: float) -> bool:
        # Half a millisecond of slack absorbs rounding in container timestamps.
        if self._next_due is not None and t < self._next_due - 5e-4:
            return False
        due = self._next_due
        behind = due is None or t - due >= self.interval
        self._next_due = (t if due is None or behind else due) + self.interval
        return True


@dataclass
class Backoff:
    """Capped exponential backoff for reconnects; reset after a healthy frame."""

    initial_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 10.0
    _attempt: int = field(default=0, init=False)

    def next_delay(self) -> float:
        delay = min(self.cap_s, self.initial_s * self.factor**self._attempt)
        self._attempt += 1
        return delay

    def reset(self) -> None:
        self._attempt = 0

    @property
    def attempts(self) -> int:
        return self._attempt
