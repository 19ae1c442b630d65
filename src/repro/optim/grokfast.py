"""Grokfast gradient filters (Lee, Kang, Kim, Lee 2024, arXiv 2405.20233) and two variants.

Every filter rewrites each parameter's gradient in place, between loss.backward() and
optimizer.step(), as

    g_hat_t = g_t + slow_gain * s_t        (or slow_gain * s_t alone with slow_only: true)

where s_t is a slow (low-pass) estimate built from the raw gradients g_0 .. g_t:

    name       s_t                                          slow_gain  paper
    ema        mu_t = alpha mu_{t-1} + (1 - alpha) g_t      lamb       Algorithm 2, Fig. 8
    ma         mean of the last window_size gradients       lamb       Algorithm 1, Figs. 2, 4, 6
    highpass   mu_t as for ema                              -lamb      reviewers' question

`slow_only: true` (ema and ma) is the ablation of Fig. 5 / Table 1, g_hat = lamb * Avg(Q).
`start_step` (every filter) is the two-stage strategy of Fig. 6 / Table 1 (start_step: 500).

Decisions where the paper is silent or ambiguous (shared/papers/grokking.md section 1.1):
- EMA starts at the first gradient, mu_0 = g_0 (official code; Algorithm 2 literally says
  "mu <- theta_0"), so g_hat_0 = (1 + lamb) g_0.
- MA's window includes g_t. Until it holds window_size gradients the gradient passes unchanged
  but is recorded (the official code's default warm-up); slow_only does the same.
- Before start_step the gradient passes unchanged, but the slow component is still updated (as
  the official MA code's `trigger`, which keeps filling its queue), so a two-stage run starts
  step 500 with a full window / a warm average. The filter counts apply() calls from 0; the call
  with index start_step is the first one filtered.
- State is kept per position in the parameter list, so apply() must get the same parameters in
  the same order every step (repro.train does). A parameter whose .grad is None is skipped and
  its state left unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from repro.config import ConfigError

# ---- checks of the constructor arguments: ConfigError naming the key, like the schema ----


def real_number(key: str, value: Any, low: float, high: float, high_included: bool) -> float:
    """A finite number in [low, high) or [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"filter.{key}: expected a number, got {value!r}")
    too_high = value > high if high_included else value >= high
    if value < low or too_high:
        interval = f"[{low}, {high}{']' if high_included else ')'}"
        raise ConfigError(f"filter.{key}: {value!r} is not in {interval}")
    return float(value)


def whole_number(key: str, value: Any, minimum: int) -> int:
    """An integer >= minimum; 100.0 counts as 100, as it does for JSON schema."""
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral or value < minimum:
        raise ConfigError(f"filter.{key}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"filter.{key}: expected true or false, got {value!r}")
    return value


def running_sum_dtype(gradient: torch.Tensor) -> torch.dtype:
    """float64 keeps MA's running sum exact to ~1e-16 (no drift worth the name); MPS has no
    float64, so there it is float32 and only the periodic refresh bounds the drift."""
    if gradient.device.type == "mps":
        return torch.promote_types(gradient.dtype, torch.float32)
    return torch.float64


# ---- the shared machinery ----


class GradientFilter:
    """Step counting, the two-stage start, per-parameter state and checkpoints.

    A subclass says how to start one parameter's state from its first gradient (`new_slot`) and
    how to fold in a gradient and return the slow component (`track`). A slot is a dict of
    tensors and ints, so the state is plain data for torch.save (even weights_only loading).
    """

    name = ""  # the key in FILTERS; saved in the state to catch a checkpoint of another filter
    shape_key = ""  # the slot tensor that has the gradient's shape (checked after loading)

    def __init__(self, slow_gain: float, slow_only: bool, start_step: int):
        self.slow_gain = slow_gain
        self.keep_fast = not flag("slow_only", slow_only)
        self.start_step = whole_number("start_step", start_step, 0)
        self.step = 0
        self.slots: list[dict | None] = []  # one per position in the parameter list
        self.unplaced: set[int] = set()  # loaded slots not yet checked and moved to the device

    def new_slot(self, gradient: torch.Tensor) -> dict:
        raise NotImplementedError

    def track(self, slot: dict, gradient: torch.Tensor) -> tuple[torch.Tensor | None, float]:
        """Fold the raw gradient into the slot; return (tensor, scale) with the slow component
        s_t = scale * tensor, or (None, 0) while there is none yet."""
        raise NotImplementedError

    @torch.no_grad()
    def apply(self, parameters) -> None:
        """Filter every gradient in place; call once per optimizer step, after backward()."""
        filtering = self.step >= self.start_step
        for index, parameter in enumerate(parameters):
            gradient = parameter.grad
            if gradient is None:
                continue
            slow, scale = self.track(self.slot(index, gradient), gradient)
            if filtering and slow is not None:
                self.mix(gradient, slow, self.slow_gain * scale)
        self.step += 1

    def mix(self, gradient: torch.Tensor, slow: torch.Tensor, gain: float) -> None:
        """gradient <- gradient + gain * slow, or gain * slow alone (slow-only ablation)."""
        if self.keep_fast:
            gradient.add_(slow, alpha=gain)
        else:
            gradient.copy_(slow).mul_(gain)

    def slot(self, index: int, gradient: torch.Tensor) -> dict:
        while len(self.slots) <= index:
            self.slots.append(None)
        slot = self.slots[index]
        if slot is None:
            slot = self.slots[index] = self.new_slot(gradient)
        elif index in self.unplaced:
            slot = self.slots[index] = self.placed(slot, index, gradient)
            self.unplaced.discard(index)
        return slot

    def placed(self, slot: dict, index: int, gradient: torch.Tensor) -> dict:
        """A loaded slot on the gradient's device (checkpoints are loaded to the CPU)."""
        shape = slot[self.shape_key].shape
        if shape != gradient.shape:
            raise ValueError(
                f"{self.name} filter state for parameter {index} has shape "
                f"{tuple(shape)}, the gradient {tuple(gradient.shape)}"
            )
        return {
            key: value.to(gradient.device) if isinstance(value, torch.Tensor) else value
            for key, value in slot.items()
        }

    def settings(self) -> dict:
        """Settings that the saved state depends on; a mismatch on loading is an error."""
        return {}

    def state_dict(self) -> dict:
        """References to the live tensors (like nn.Module.state_dict): save before apply()."""
        slots = [None if slot is None else dict(slot) for slot in self.slots]
        return {"filter": self.name, **self.settings(), "step": self.step, "slots": slots}

    def load_state_dict(self, state: dict) -> None:
        expected = {"filter": self.name, **self.settings()}
        found = {key: state.get(key) for key in expected}
        if found != expected:
            raise ValueError(f"filter state was saved for {found}, this filter is {expected}")
        self.step = int(state["step"])
        self.slots = [None if slot is None else dict(slot) for slot in state["slots"]]
        self.unplaced = set(range(len(self.slots)))


# ---- the filters ----


class EMAFilter(GradientFilter):
    """Grokfast-EMA (Algorithm 2): mu_t = alpha mu_{t-1} + (1 - alpha) g_t, g_hat_t = g_t +
    lamb mu_t, with mu_0 = g_0. Impulse response (after a zero start) h(t) = delta(t) +
    lamb (1 - alpha) alpha^t; transfer 1 + lamb (1 - alpha) / (1 - alpha e^{-i omega}).
    Defaults alpha 0.98, lamb 2.0: the paper's algorithmic task and the official code."""

    name = "ema"
    shape_key = "average"

    def __init__(
        self, alpha: float = 0.98, lamb: float = 2.0, slow_only: bool = False, start_step: int = 0
    ):
        self.alpha = real_number("alpha", alpha, 0.0, 1.0, high_included=False)
        lamb = real_number("lamb", lamb, 0.0, math.inf, high_included=False)
        super().__init__(slow_gain=lamb, slow_only=slow_only, start_step=start_step)

    def new_slot(self, gradient: torch.Tensor) -> dict:
        """mu starts at the first gradient; at least float32 so that a bf16 average still moves."""
        dtype = torch.promote_types(gradient.dtype, torch.float32)
        return {"average": gradient.detach().to(dtype, copy=True)}

    def track(self, slot: dict, gradient: torch.Tensor) -> tuple[torch.Tensor, float]:
        average = slot["average"]
        average.lerp_(gradient.to(average.dtype), 1.0 - self.alpha)  # mu + (1 - alpha)(g - mu)
        return average, 1.0


class HighPassFilter(EMAFilter):
    """g_hat_t = g_t - lamb mu_t, lamb in [0, 1], mu as for ema: attenuates the slow component
    instead of amplifying it (a reviewers' question: does removing slow gradients delay
    grokking?). Gain 1 - lamb at omega = 0, rising to 1 - lamb (1 - alpha) / (1 + alpha) at pi.
    lamb = 1 removes constant gradients entirely. Defaults: alpha 0.98 as ema; lamb 0.5 is our
    choice (the paper has no such filter), so experiments should set it explicitly."""

    name = "highpass"

    def __init__(self, alpha: float = 0.98, lamb: float = 0.5, start_step: int = 0):
        lamb = real_number("lamb", lamb, 0.0, 1.0, high_included=True)
        super().__init__(alpha=alpha, lamb=lamb, start_step=start_step)
        self.slow_gain = -lamb  # subtract the slow component


class MAFilter(GradientFilter):
    """Grokfast-MA (Algorithm 1): g_hat_t = g_t + lamb * mean(g_{t-w+1} .. g_t), w = window_size,
    once w gradients have been seen (before that g_t passes unchanged). In steady state: impulse
    response delta(t) + lamb / w for 0 <= t < w; transfer 1 + lamb / w sum_{k<w} e^{-i omega k}.
    Defaults w 100, lamb 5.0: the paper's main result (Fig. 2) and the official code.

    The window is a preallocated ring buffer (w copies of the gradient, the paper's memory cost)
    with a running sum, so a step costs O(1) gradient copies instead of summing w of them (422k
    parameters, 1 CPU thread: 2 ms per step, against 31 ms to re-sum 100 copies). The sum
    is float64 (MPS: float32) and is recomputed exactly from the buffer each time the ring wraps,
    so the mean matches torch.stack(window).mean(0) to float32 rounding and cannot drift."""

    name = "ma"
    shape_key = "total"

    def __init__(
        self,
        window_size: int = 100,
        lamb: float = 5.0,
        slow_only: bool = False,
        start_step: int = 0,
    ):
        self.window_size = whole_number("window_size", window_size, 1)
        lamb = real_number("lamb", lamb, 0.0, math.inf, high_included=False)
        super().__init__(slow_gain=lamb, slow_only=slow_only, start_step=start_step)

    def settings(self) -> dict:
        return {"window_size": self.window_size}

    def new_slot(self, gradient: torch.Tensor) -> dict:
        window = gradient.new_zeros((self.window_size, *gradient.shape))
        total = torch.zeros(
            gradient.shape, dtype=running_sum_dtype(gradient), device=gradient.device
        )
        return {"window": window, "total": total, "count": 0}  # count: gradients recorded

    def track(self, slot: dict, gradient: torch.Tensor) -> tuple[torch.Tensor | None, float]:
        window, total = slot["window"], slot["total"]
        position = slot["count"] % self.window_size
        if slot["count"] >= self.window_size:
            total.sub_(window[position])  # the oldest gradient leaves the window
        total.add_(gradient)
        window[position].copy_(gradient)
        slot["count"] += 1
        if slot["count"] % self.window_size == 0:  # the ring wrapped: refresh the sum exactly
            torch.sum(window, dim=0, dtype=total.dtype, out=total)
        if slot["count"] < self.window_size:
            return None, 0.0
        return total, 1.0 / self.window_size


GROKFAST_FILTERS = {"ema": EMAFilter, "ma": MAFilter, "highpass": HighPassFilter}
