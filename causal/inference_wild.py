"""The wild cluster bootstrap of the inference layer (Cameron, Gelbach and Miller 2008;
Roodman, MacKinnon, Nielsen and Webb 2019): restricted (null imposed), Rademacher, Mammen or
Webb weights, inverted into an interval; :mod:`causal.inference` decides when it is used."""
from __future__ import annotations

import itertools

import numpy as np

from causal.inference_ols import WEBB_BELOW, _cluster_sums, _groups, full_rank, ols, vcov
from causal.randomization import invert_test

# --------------------------------------------------------------------------------------
# Wild cluster bootstrap (WCR), inverted into an interval
# --------------------------------------------------------------------------------------
#: the two-point and six-point weight distributions (mean 0, variance 1): Rademacher;
#: Mammen (1993); Webb (2023), for very few clusters
_WEIGHTS = {
    "rademacher": (np.array([-1.0, 1.0]), None),
    "mammen": (np.array([-1.0, 1.0]) * (np.sqrt(5) + np.array([-1.0, 1.0])) / 2,
               (np.sqrt(5) + np.array([1.0, -1.0])) / (2 * np.sqrt(5))),
    "webb": (np.concatenate([-np.sqrt(np.array([3.0, 2.0, 1.0]) / 2),
                             np.sqrt(np.array([1.0, 2.0, 3.0]) / 2)]), None),
}


def wild_weights(kind: str, G: int, draws: int, rng: np.random.Generator,
                 full_enumeration: bool = False) -> np.ndarray:
    """G x B bootstrap weights, one per cluster and draw; with ``full_enumeration`` all 2^G
    Rademacher sign patterns. Drawn in the order ``wildboottest`` draws them, so that the
    same seed gives the same weights (the tests compare the two)."""
    if full_enumeration:
        return np.array(list(itertools.product([-1, 1], repeat=G)), dtype=float).T
    if kind == "norm":
        return rng.normal(size=G * draws).reshape(G, draws)
    values, p = _WEIGHTS[kind]
    return rng.choice(values, size=G * draws, replace=True, p=p).reshape(G, draws)


class WildClusterBootstrap:
    """The restricted wild cluster bootstrap test of ``beta_j = b0`` with CR1 t-statistics,
    as ``wildboottest``'s ``WildboottestCL`` (type 11, null imposed) computes it, for any b0
    at the cost of a G x G x B product (every term is linear in b0)."""

    def __init__(self, y: np.ndarray, X: np.ndarray, clusters: np.ndarray, j: int,
                 draws: int = 999, seed: int = 0, weights: str | None = None,
                 k_absorbed: int = 0) -> None:
        X, j, _ = full_rank(X, j)
        self.fit = ols(y, X, k_absorbed)
        n, k = X.shape[0], self.fit.k
        self.G = G = int(clusters.max()) + 1
        self.j = j
        self.weights = weights or ("webb" if G < WEBB_BELOW else "rademacher")
        full = self.weights == "rademacher" and 2 ** G < draws
        self.V = wild_weights(self.weights, G, draws, np.random.default_rng(seed), full)
        self.draws = self.V.shape[1]
        self.full_enumeration = full
        self.ssc = (n - 1) / (n - k) * G / (G - 1)
        A = self.fit.bread
        k = X.shape[1]
        others = [i for i in range(k) if i != j]
        X1 = X[:, others]
        # restricted residuals of y - b0 x_j on the other columns: ry - b0 rd
        P = X1 @ np.linalg.lstsq(X1, np.column_stack([y, X[:, j]]), rcond=None)[0] \
            if others else np.zeros((n, 2))
        ry, rd = y - P[:, 0], X[:, j] - P[:, 1]
        Sy = _cluster_sums(X * ry[:, None], clusters, G).T      # k x G
        Sd = _cluster_sums(X * rd[:, None], clusters, G).T
        aj = A[j]                                               # R A
        L = np.empty((G, k))                                    # R A X_g'X_g A per cluster
        for g, idx in enumerate(_groups(clusters, G)):
            L[g] = (aj @ (X[idx].T @ X[idx])) @ A
        self._parts = (aj @ Sy, aj @ Sd, L @ Sy, L @ Sd)
        self.se_cr1 = float(np.sqrt(vcov(self.fit, "CR1", clusters)[j, j]))

    def t_boot(self, b0: float) -> np.ndarray:
        cy, cd, Hy, Hd = self._parts
        C = cy - b0 * cd
        H = Hy - b0 * Hd
        V = self.V
        numer = C @ V
        Z = C[:, None] * V - H @ V
        return numer / np.sqrt(self.ssc * (Z ** 2).sum(0))

    def p_value(self, b0: float = 0.0) -> float:
        """Two-sided bootstrap p-value of beta_j = b0 (share of |t*| above |t|)."""
        t = (self.fit.beta[self.j] - b0) / self.se_cr1
        return float(np.mean(np.abs(t) < np.abs(self.t_boot(b0))))

    def interval(self, alpha: float = 0.05, tol: float = 1e-4) -> tuple[float, float]:
        """The b0 not rejected at level alpha (Roodman et al. 2019, section 3.5)."""
        return invert_test(self.p_value, float(self.fit.beta[self.j]), self.se_cr1, alpha, tol)


