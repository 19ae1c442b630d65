"""When to evaluate: every N steps and/or at log-spaced steps (grokking curves use a log x axis)."""

from __future__ import annotations

import math


def evaluation_steps(steps: int, every: int = 0, log_points: int = 0) -> list[int]:
    """Sorted steps in [0, steps]; always includes 0 (initialisation) and the last step."""
    points = {0, steps}
    if every:
        points.update(range(every, steps + 1, every))
    if log_points and steps >= 1:
        top = math.log10(steps)
        for index in range(log_points):
            points.add(round(10 ** (top * index / max(log_points - 1, 1))))
    return sorted(point for point in points if 0 <= point <= steps)
