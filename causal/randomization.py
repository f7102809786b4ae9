"""Randomisation inference for treatment assigned to few groups, and the test inversion that
turns a test into an interval.

With fewer than about five treated (or untreated) groups, cluster-robust and wild bootstrap
intervals fail (MacKinnon and Webb 2017, 2018). What remains is Fisher's randomisation
test: if the assignment of treatment to groups is exchangeable (every set of G1 of the G
groups was as likely to be the treated one), the estimate under every other assignment,
computed on the outcomes the sharp null ``y_i(1) - y_i(0) = tau0`` implies, is a draw from
the estimate's null distribution (Fisher 1935; Young 2019; MacKinnon and Webb 2020, whose
"RI-beta" this is). The p-value is the share of assignments whose estimate is at least as far
from tau0 as the observed one; the interval is the set of tau0 not rejected (Imbens and
Rubin 2015, ch. 5). Exact when all assignments are enumerated (at most ``max_assignments``),
else from a random sample of them.

For OLS the estimate under assignment pi is linear in the outcome: with the null outcomes
``y - tau0 d`` and the treatment column d_pi of the design X_pi, the estimate is
``b_pi(y) - tau0 b_pi(d) + tau0``, so each assignment costs one least-squares solve with two
right-hand sides, whatever tau0 is. Hand-written: no maintained Python package does
randomisation inference over a cluster-level assignment for an arbitrary design (``ritest``
is Stata's).

Assumed: exchangeable assignment of treatment across the groups (as-if random; the design
is the argument, not the data), a constant additive effect under the null, the number of
treated groups fixed by the design.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np


def invert_test(p_value: Callable[[float], float], b: float, scale: float, alpha: float,
                tol: float = 1e-4, unbounded: bool = False) -> tuple[float, float]:
    """The values b0 not rejected at level alpha: bisection on each side of the estimate b,
    from steps of 2 x scale doubled until rejection (Roodman et al. 2019, section 3.5). An
    end still not rejected 1000 scales away is infinite with ``unbounded``, else that far
    point."""
    s = max(scale, 1e-9)
    ends = []
    for sign in (-1.0, 1.0):
        inner, step = b, 2.0 * s
        outer = b + sign * step
        while p_value(outer) > alpha:
            if step >= 1e3 * s:
                outer = sign * np.inf if unbounded else outer
                break
            inner, step = outer, step * 2.0
            outer = b + sign * step
        if not np.isfinite(outer) or p_value(outer) > alpha:
            ends.append(outer)
            continue
        for _ in range(60):
            if abs(outer - inner) <= tol * s:
                break
            mid = (inner + outer) / 2
            if p_value(mid) > alpha:
                inner = mid
            else:
                outer = mid
        ends.append((inner + outer) / 2)
    return ends[0], ends[1]


def assignments(treated: np.ndarray, max_assignments: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, bool]:
    """Assignments of as many treated groups as ``treated`` (bool per group) has, as a
    (A, G) bool array with the observed one first; all of them when there are at most
    ``max_assignments``, else the observed one and a random sample (with replacement)."""
    G, G1 = treated.size, int(treated.sum())
    total = math.comb(G, G1)
    if total <= max_assignments:
        out = np.zeros((total, G), dtype=bool)
        for a, idx in enumerate(itertools.combinations(range(G), G1)):
            out[a, list(idx)] = True
        obs = np.flatnonzero((out == treated).all(1))[0]
        out[[0, obs]] = out[[obs, 0]]
        return out, True
    draws = np.zeros((max_assignments, G), dtype=bool)
    draws[0] = treated
    for a in range(1, max_assignments):
        draws[a, rng.choice(G, G1, replace=False)] = True
    return draws, False


class RandomizationTest:
    """Fisher's randomisation test of ``beta_j = tau0`` for coefficient j of an OLS design
    that depends on which groups are treated (``design_of(treated_groups) -> X``)."""

    def __init__(self, y: np.ndarray, design_of: Callable[[np.ndarray], np.ndarray],
                 treated: np.ndarray, j: int, max_assignments: int = 999, seed: int = 0
                 ) -> None:
        self.A, self.exact = assignments(np.asarray(treated, bool), max_assignments,
                                         np.random.default_rng(seed))
        X0 = design_of(self.A[0])
        d = X0[:, j]
        B = np.empty((len(self.A), 2))
        for a, pi in enumerate(self.A):
            Xp = X0 if a == 0 else design_of(pi)
            B[a] = np.linalg.lstsq(Xp, np.column_stack([y, d]), rcond=None)[0][j]
        self.by, self.bd = B[:, 0], B[:, 1]
        self.coef = float(self.by[0])
        self.n_assignments = len(self.A)

    def p_value(self, tau0: float = 0.0) -> float:
        """Share of assignments whose estimate under the sharp null is at least as far from
        tau0 as the observed one (the observed assignment included)."""
        dev = np.abs(self.by - tau0 * self.bd)
        obs = abs(self.coef - tau0)
        return float(np.mean(dev >= obs * (1 - 1e-12) - 1e-15))

    def interval(self, alpha: float, scale: float) -> tuple[float, float]:
        """The tau0 the test does not reject at level alpha (infinite where it never does:
        with fewer than 1/alpha assignments no value is rejected)."""
        if 1.0 / self.n_assignments > alpha:
            return -np.inf, np.inf
        return invert_test(self.p_value, self.coef, scale, alpha, unbounded=True)
