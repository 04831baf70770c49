"""From responses before and after to a verdict: each comparison of the prediction with a
bootstrap confidence interval over the stimuli, and the control's effect.

A comparison is about a condition (``"circle"``; ``"!circle"`` is every other condition;
``"*"`` all of them; ``"^"`` the *preferred* one, whose mean response before the
intervention is highest, and ``"!^"`` every other) and one quantity: ``change``, the
relative change of the mean response ``(mean after - mean before) / |mean before|``, or
``response``, the mean response before. Its interval resamples the condition's stimuli (paired, with replacement).

- **held**: every comparison holds over its whole 95% interval, and the control (the same
  intervention on a matched random set) does not also satisfy the prediction;
- **refuted**: some comparison fails over its whole interval, or the control satisfies the
  prediction as well (the effect is not specific);
- **inconclusive**: otherwise (an interval straddles a threshold, no response to change).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOOTSTRAP = 2000
LEVEL = 0.95
EPS = 1e-6
PREFERRED = "^"


def select(conditions: np.ndarray, name: str) -> np.ndarray:
    """The stimuli of condition ``name`` (``!name``: the others, ``*``: all)."""
    if name == "*":
        return np.ones(len(conditions), bool)
    if name.startswith("!"):
        return conditions != name[1:]
    return conditions == name


def resolve(name: str, conditions: np.ndarray, before: np.ndarray) -> str:
    """``name`` with the preferred condition ``^`` replaced by the condition it is on these
    stimuli: the one with the highest mean response before the intervention (the first on
    a tie). A claim about a unit's preferred stimulus (a curve detector's orientation)
    thus names no angle that only the trained weights could tell."""
    if name.removeprefix("!") != PREFERRED or not len(conditions):
        return name
    names = list(dict.fromkeys(conditions.tolist()))
    peak = names[int(np.argmax([before[conditions == c].mean() for c in names]))]
    return name[:-1] + peak


def _quantity(before: np.ndarray, after: np.ndarray | None) -> np.ndarray:
    """Along the last axis: the mean response (``after`` None) or its relative change."""
    b = before.mean(-1)
    if after is None:
        return b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(b) > EPS, (after.mean(-1) - b) / np.abs(b), np.nan)


def _satisfies(value: float, op: str, threshold: float) -> bool:
    if op.startswith("abs"):
        value, op = abs(value), op[3:]
    return value <= threshold if op == "<=" else value >= threshold


@dataclass(frozen=True)
class Comparison:
    condition: str
    op: str
    value: float
    of: str
    measured: float | None
    ci: tuple[float, float] | None
    control: float | None
    outcome: str  # "holds", "fails", "unclear"

    def as_dict(self) -> dict:
        return {"condition": self.condition, "op": self.op, "value": self.value, "of": self.of,
                "measured": self.measured, "ci": list(self.ci) if self.ci else None,
                "control": self.control, "outcome": self.outcome}


def compare(spec: dict, conditions: np.ndarray, before: np.ndarray, after: np.ndarray,
            control: np.ndarray | None, rng: np.random.Generator) -> Comparison:
    """One comparison of the prediction; ``control`` holds one row of responses per draw.
    The comparison names the condition it was about (``^`` resolved: ``"45"``)."""
    op, threshold, of = spec["op"], float(spec["value"]), spec.get("of", "change")
    name = resolve(spec["condition"], conditions, before)
    mask = select(conditions, name)
    if not mask.any():
        return Comparison(name, op, threshold, of, None, None, None, "unclear")
    b, a = before[mask], after[mask] if of == "change" else None
    measured = float(_quantity(b, a))
    idx = rng.integers(0, len(b), (BOOTSTRAP, len(b)))
    samples = _quantity(b[idx], a[idx] if a is not None else None)
    control_value = None
    if control is not None and of == "change":
        changes = _quantity(np.broadcast_to(b, control[:, mask].shape), control[:, mask])
        control_value = float(np.nanmean(changes)) if np.isfinite(changes).any() else None  # None: no response
    if np.isnan(measured) or np.isnan(samples).any():
        return Comparison(name, op, threshold, of, None, None, control_value, "unclear")
    lo, hi = (float(q) for q in np.quantile(samples, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]))
    ends = [_satisfies(v, op, threshold) for v in (lo, hi)]
    if op.startswith("abs") and lo < 0 < hi:  # |x| over an interval through 0 reaches 0
        ends.append(_satisfies(0.0, op, threshold))
    outcome = "holds" if all(ends) else "fails" if not any(ends) else "unclear"
    return Comparison(name, op, threshold, of, measured, (lo, hi), control_value, outcome)


def verdict(comparisons: list[Comparison], controlled: bool) -> tuple[str, str]:
    """(verdict, why) from the comparisons and, when ``controlled``, their control values."""
    failed = [c for c in comparisons if c.outcome == "fails"]
    if failed:
        c = failed[0]
        return "refuted", f"{c.of} on {c.condition} is {c.measured:+.3f}, not {c.op} {c.value:g}"
    unclear = [c for c in comparisons if c.outcome == "unclear"]
    if unclear:
        c = unclear[0]
        why = ("no stimuli or no response" if c.measured is None or c.ci is None
               else f"its interval [{c.ci[0]:+.3f}, {c.ci[1]:+.3f}] straddles {c.value:g}")
        return "inconclusive", f"{c.of} on {c.condition}: {why}"
    if controlled:
        checked = [c for c in comparisons if c.control is not None]
        if checked and all(_satisfies(c.control, c.op, c.value) for c in checked if c.control is not None):
            return "refuted", "the control does as much: the effect is not specific to the claimed units or edges"
    return "held", "every comparison holds over its interval" + (" and the control does not" if controlled else "")
