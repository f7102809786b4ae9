"""Group-sequential monitoring boundaries for a trial with interim looks.

Seed notes 001 EP10: the Almere experiment considered an interim analysis "halverwege"; a look
at the data before the end spends part of the type I error, so the boundary at each look must
be stricter than the fixed-design critical value. The error is spent with a Lan and DeMets
(1983) spending function of the information fraction t:

- O'Brien-Fleming type: alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)) (for a one-sided test
  at level alpha; Lan and DeMets 1983, eq. 4): almost nothing early, nearly the full level at
  the end;
- Pocock type: alpha(t) = alpha ln(1 + (e - 1) t): equal boundaries on the z scale.

The boundary c_k at look k solves P_0(Z_1 < c_1, ..., Z_{k-1} < c_{k-1}, Z_k >= c_k) =
alpha(t_k) - alpha(t_{k-1}), with the canonical joint distribution of the standardised
statistics, corr(Z_i, Z_j) = sqrt(t_i / t_j) (Jennison and Turnbull 2000, ch. 3). A two-sided
design spends alpha/2 on each side (the symmetric approximation that ignores crossing the
other boundary first, Jennison and Turnbull 2000, §2.3). The maximum sample size is the
fixed-design size times the inflation factor (theta_K / (z_{1-alpha} + z_{1-beta}))^2, where
theta_K is the drift at the final look that gives the requested power.

Written here because no maintained Python library computes spending-function boundaries
(R's gsDesign and rpact do); the crossing probabilities are integrated numerically
(Armitage, McPherson and Rowe 1969), the roots found by scipy's brentq.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

Spending = Literal["obrien_fleming", "pocock"]


def spent(t: np.ndarray | float, alpha: float, kind: Spending) -> np.ndarray:
    """Type I error spent by information fraction ``t`` (Lan and DeMets 1983)."""
    t = np.asarray(t, dtype=float)
    if kind == "obrien_fleming":
        z = stats.norm.ppf(1 - alpha / 2)
        return 2 - 2 * stats.norm.cdf(z / np.sqrt(np.clip(t, 1e-12, None)))
    if kind == "pocock":
        return alpha * np.log(1 + (np.e - 1) * t)
    raise ValueError(f"unknown spending function '{kind}'; expected obrien_fleming or pocock")


class _Recursion:
    """The recursive numerical integration of Armitage, McPherson and Rowe (1969) (Jennison
    and Turnbull 2000, ch. 19): with Z_k = S_k / sqrt(t_k) and independent score increments
    S_k - S_{k-1} ~ N(drift (t_k - t_{k-1}), t_k - t_{k-1}), the sub-density of S_k on the
    continuation region {no crossing so far} is carried from look to look on a grid
    (trapezoid rule). Deterministic, unlike a Monte Carlo multivariate normal integral."""

    def __init__(self, t: np.ndarray, drift: float, grid: int) -> None:
        self.t, self.drift, self.grid = t, drift, grid
        self.k = 0
        self.s = self.fw = None

    def cross(self, ck: float) -> float:
        """P(first crossing at the next look) if its boundary is ``ck`` (z scale)."""
        t, k, d = self.t, self.k, self.drift
        b = ck * np.sqrt(t[k])
        if k == 0:
            return float(stats.norm.sf((b - d * t[0]) / np.sqrt(t[0])))
        dt = t[k] - t[k - 1]
        return float(self.fw @ stats.norm.sf((b - self.s - d * dt) / np.sqrt(dt)))

    def advance(self, ck: float) -> None:
        """Fix the boundary of the next look and carry the density past it."""
        t, k, d = self.t, self.k, self.drift
        b = ck * np.sqrt(t[k])
        lo = d * t[k] - 9 * np.sqrt(t[k])
        s_new = np.linspace(min(lo, b - 1.0), b, self.grid)
        if k == 0:
            f = stats.norm.pdf(s_new, d * t[0], np.sqrt(t[0]))
        else:
            dt = t[k] - t[k - 1]
            sd = np.sqrt(dt)
            f = stats.norm.pdf((s_new[:, None] - self.s[None, :] - d * dt) / sd) @ self.fw / sd
        w = np.full(s_new.size, s_new[1] - s_new[0])
        w[[0, -1]] /= 2
        self.s, self.fw, self.k = s_new, f * w, k + 1


def _cross_prob(c: np.ndarray, t: np.ndarray, drift: float = 0.0, grid: int = 600) -> np.ndarray:
    """P(first crossing at look k) for every k, with boundaries ``c`` (z scale)."""
    rec = _Recursion(t, drift, grid)
    out = np.empty(len(c))
    for k in range(len(c)):
        out[k] = rec.cross(c[k])
        if k < len(c) - 1:
            rec.advance(c[k])
    return out


@dataclass
class SequentialDesign:
    looks: list[float]
    z: list[float]
    nominal_p: list[float]
    spent: list[float]
    inflation: float
    alpha: float
    sided: int
    spending: str

    def rows(self) -> list[dict[str, float]]:
        return [{"look": i + 1, "information": t, "z": z, "nominal_p": p, "alpha_spent": a}
                for i, (t, z, p, a) in enumerate(zip(self.looks, self.z, self.nominal_p,
                                                     self.spent, strict=True))]


def boundaries(looks: list[float], *, alpha: float = 0.05, sided: int = 1,
               spending: Spending = "obrien_fleming", power: float = 0.8) -> SequentialDesign:
    """Efficacy boundaries at the information fractions ``looks`` (increasing, last 1.0)."""
    t = np.asarray(looks, dtype=float)
    if t.ndim != 1 or len(t) < 1 or np.any(np.diff(t) <= 0) or t[0] <= 0 or abs(t[-1] - 1) > 1e-9:
        raise ValueError("expected increasing information fractions in (0, 1], the last 1")
    if not (0 < alpha < 0.5) or sided not in (1, 2):
        raise ValueError("expected alpha in (0, 0.5) and sided 1 or 2")
    a = alpha / sided
    cum = spent(t, a, spending)
    inc = np.diff(np.concatenate([[0.0], cum]))
    c = np.empty(len(t))
    rec = _Recursion(t, 0.0, 600)
    for k in range(len(t)):
        c[k] = (optimize.brentq(lambda ck, k=k: rec.cross(ck) - inc[k], 0.0, 12.0, xtol=1e-7)
                if inc[k] > 1e-15 else 12.0)
        if k < len(t) - 1:
            rec.advance(c[k])
    fixed = stats.norm.ppf(1 - a) + stats.norm.ppf(power)
    drift = optimize.brentq(lambda d: _cross_prob(c, t, d).sum() - power, 0.0, 3 * fixed + 5,
                            xtol=1e-6)
    return SequentialDesign(looks=[float(x) for x in t], z=[float(x) for x in c],
                            nominal_p=[float(sided * stats.norm.sf(x)) for x in c],
                            spent=[float(x) for x in cum * sided],
                            inflation=float((drift / fixed) ** 2), alpha=alpha, sided=sided,
                            spending=spending)
