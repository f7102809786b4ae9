"""Cluster-robust variance for nearest-neighbour matching (option ``cluster`` of
``propensity_matching``).

The matching estimator is, up to its bias, a sum of per-unit terms (Abadie and Imbens 2006,
2012): for the ATT, ``tau_hat - tau = (1/N1) sum_i a_i`` with

- a matched participant i: ``a_i = tau(X_i) - tau + eps_i``, estimated by its effect
  ``y_i - y0_hat_i - tau_hat`` plus the mean of its matches' residuals (which the imputed
  ``y0_hat_i`` contains and which belong to the matches, not to i);
- a non-participant j used K_j times (K_j = sum of 1/M_i over the participants it serves):
  ``a_j = -K_j eps_j``.

For the ATE the same holds in both directions (each unit's own effect term plus
``+K_i eps_i`` for a participant used as a match, ``-K_j eps_j`` for a non-participant). The
residuals ``eps`` are Abadie and Imbens's (2006, eq. 14) own-group matching residuals,
``sqrt(J/(J+1)) (y_i - mean of its J nearest own-group neighbours)``. With every unit its
own cluster, ``sum a_i^2 / N^2`` has the expectation of the AI (2006) heteroskedastic
variance; with clusters, the cluster sums of ``a`` give the CR1-type variance, a t(G - 1)
interval and the few-cluster rules of :func:`causal.inference.influence_inference`.

Assumed: units nested in the clusters, errors independent across clusters, the score
treated as known (the AI 2016 adjustment has no clustered form: not applied). Hand-written:
no Python library clusters a matching variance (Stata's ``teffects nnmatch`` and R's
``Matching`` offer none either).
"""
from __future__ import annotations

import numpy as np


def residuals(key: np.ndarray, stratum: np.ndarray, y: np.ndarray, J: int, pool,
              own_group_stats) -> np.ndarray:
    """AI (2006) own-group matching residuals of one group (J nearest own-group units)."""
    need = np.arange(len(y))
    if need.size == 0:
        return np.zeros(0)
    sums, cnt = own_group_stats(key, stratum, y[:, None], J, need, pool)
    c = np.maximum(cnt, 1)
    return np.where(cnt > 0, np.sqrt(c / (c + 1.0)) * (y - sums[:, 0] / c), 0.0)


def contributions(n: int, ti: np.ndarray, ci: np.ndarray, effect: np.ndarray,
                  use: np.ndarray, tau: float, K: np.ndarray, eps: np.ndarray,
                  eps_matches: np.ndarray, estimand: str) -> np.ndarray:
    """The per-unit terms a (length n, 0 for units that neither count nor serve):
    ``eps_matches`` is, per unit, the mean residual of its matches (nan when unmatched),
    ``K`` the times each unit is used as a match."""
    a = np.zeros(n)
    own = use & ~np.isnan(effect)
    sign = np.zeros(n)
    sign[ti], sign[ci] = 1.0, -1.0
    a[own] = effect[own] - tau + sign[own] * eps_matches[own]
    if estimand == "ATT":
        a[ci] -= K[ci] * eps[ci]
    else:
        a[ti] += K[ti] * eps[ti]
        a[ci] -= K[ci] * eps[ci]
    return a
