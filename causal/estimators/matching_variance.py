"""The Abadie-Imbens variance parts of :mod:`causal.estimators.matching`: matching weights,
imputed outcomes, within-group residual variances from own-group neighbours (Abadie and
Imbens 2006) and the adjustment for the estimated propensity score (Abadie and Imbens 2016)."""
from __future__ import annotations

import numpy as np

from causal.estimators.matching_search import SortedPool


# --------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------
def _weights(idx: np.ndarray, n_pool: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query the number of matches M_i; per pool unit K = sum 1/M_i and K2 = sum 1/M_i^2
    over the queries that used it (Abadie and Imbens 2006, K_M(i))."""
    m = (idx >= 0).sum(1)
    rows, cols = np.nonzero(idx >= 0)
    used = idx[rows, cols]
    inv_m = 1.0 / m[rows]
    K = np.bincount(used, weights=inv_m, minlength=n_pool)
    K2 = np.bincount(used, weights=inv_m ** 2, minlength=n_pool)
    return m, K, K2


def _imputed(idx: np.ndarray, y_pool: np.ndarray) -> np.ndarray:
    """Mean outcome of each query's matches (nan when unmatched)."""
    valid = idx >= 0
    m = valid.sum(1)
    s = np.where(valid, y_pool[np.where(valid, idx, 0)], 0.0).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, s / m, np.nan)


def _own_group_stats(key: np.ndarray, stratum: np.ndarray, values: np.ndarray, J: int,
                     need: np.ndarray, pool: SortedPool | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """For the units in ``need`` (indices into the group) the sum of ``values`` (n, v) over
    their J nearest other units of the same group (same stratum when possible), and the
    count found."""
    pool = SortedPool(key, stratum) if pool is None else pool
    sums, cnt = pool.own_neighbour_sums(need, J, values)
    lonely = np.flatnonzero(cnt == 0)
    if lonely.size:  # no other unit in the stratum: ignore strata for these
        flat = SortedPool(key, np.zeros(len(key), dtype=np.int64))
        sums[lonely], cnt[lonely] = flat.own_neighbour_sums(need[lonely], J, values)
    return sums, cnt


def _neighbour_sums(idx: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of ``values`` rows over each query's valid neighbours (-1 = none), and the count.
    Loops over the k neighbour columns (k is small), never over units."""
    sums = np.zeros((idx.shape[0], values.shape[1]))
    cnt = np.zeros(idx.shape[0], dtype=np.int64)
    for j in range(idx.shape[1]):
        ok = idx[:, j] >= 0
        sums[ok] += values[idx[ok, j]]
        cnt += ok
    return sums, cnt


def _sigma2(key, stratum, y, J, binary_scale: float | None = None,
            need: np.ndarray | None = None, pool: SortedPool | None = None) -> np.ndarray:
    """Conditional outcome variance by matching within the own group (for the units in
    ``need``; 0 elsewhere).

    Continuous outcomes: AI (2006, eq. 14), J/(J+1) (y_i - mean of J neighbours)^2. Binary
    outcomes (``binary_scale`` = 100 for pp): the Bernoulli variance m(1-m) J/(J-1) of the
    J neighbours' mean m, which does not use y_i itself: with heavy reuse of a few units the
    AI form makes the standard error move with those units' own outcomes (too small exactly
    when their outcomes pull the estimate down), which cost coverage in our twins."""
    out = np.zeros(len(y))
    need = np.arange(len(y)) if need is None else need
    if need.size == 0:
        return out
    sums, cnt = _own_group_stats(key, stratum, y[:, None], J, need, pool)
    cnt_safe = np.maximum(cnt, 1)
    mean = sums[:, 0] / cnt_safe
    if binary_scale is not None and J >= 2:
        m = mean / binary_scale
        v = m * (1 - m) * cnt_safe / np.maximum(cnt_safe - 1, 1) * binary_scale ** 2
        out[need] = np.where(cnt > 1, v, 0.0)
    else:
        out[need] = np.where(cnt > 0, cnt_safe / (cnt_safe + 1.0) * (y[need] - mean) ** 2, 0.0)
    return out


#: above this many units the AI (2016) adjustment's averages are taken over a fixed random
#: subsample of this size (they are plain means over units; the subsample error is far below
#: the sampling error of the variance itself).
AI2016_MAX_UNITS = 100_000


def _ai2016_parts(key, Z, y, d, k, seed, pools: dict | None = None) -> tuple:
    """The parts of :func:`_ai2016_adjustment` that do not depend on the estimand (the
    subsample, the within-group covariances and the imputed outcomes): computed once for
    the ATT and the ATE of a run (cached on the ``pools`` dict under ``"ai2016"``). Arrays
    over the subsample only: a unit's place in its group is found by ``searchsorted``."""
    cache_key = ("ai2016", k, seed)
    if pools is not None and cache_key in pools:
        return pools[cache_key]
    n, kz = Z.shape
    S = np.arange(n) if n <= AI2016_MAX_UNITS else np.sort(
        np.random.default_rng(seed).choice(n, AI2016_MAX_UNITS, replace=False))
    scale = n / len(S)
    zero = np.zeros(len(S), dtype=np.int64)
    cov = {}
    imputed = {}
    for w in (0, 1):
        g = np.flatnonzero(d == w)
        pool = SortedPool(key[g], np.zeros(len(g), dtype=np.int64)) if pools is None \
            else pools[w]
        inw = d[S] == w
        excl = np.where(inw, np.searchsorted(g, S), -1)  # place in g of the units of S in w
        idx, _ = pool.query(key[S], zero, max(2, k), exclude=excl)
        ok = (idx[:, :2] >= 0).all(1)
        a, b = g[idx[ok, 0]], g[idx[ok, 1]]
        cw = np.zeros((len(S), kz))
        cw[ok] = (Z[a] - Z[b]) * ((y[a] - y[b]) / 2.0)[:, None]
        cov[w] = cw
        # the other group's k nearest give this group's counterfactual for units not in w
        kk = idx[:, :k]
        s_, c_ = _neighbour_sums(kk, y[g][:, None])
        imputed[w] = np.where(inw, y[S], s_[:, 0] / np.maximum(c_, 1))
    out = (S, scale, cov, imputed)
    if pools is not None:
        pools[cache_key] = out
    return out


def _ai2016_adjustment(key, Z, y, d, p, tau, estimand, info, k, seed,
                       pools: dict | None = None) -> float:
    """The Abadie-Imbens (2016) adjustment to subtract from the AI (2006) variance.

    cov(Z, Y | p) within each group w is estimated from the two nearest units of group w in
    the matching key (AI 2016, section 4: with L = 2, (z_a - z_b)(y_a - y_b) / 2);
    V_theta = (N I)^-1 with I the mean information of the logit. ATE: c'Vc with
    c = mean f (cov1/p + cov0/(1-p)); ATT: c_t'Vc_t - d_t'Vd_t with
    c_t = sum f (cov1 + p/(1-p) cov0) / N1, d_t = sum f (Y1hat - Y0hat - tau) Z / N1,
    f = p(1-p) (the logistic density). Person-level imputations here use k matches and no
    caliper.
    """
    n, kz = Z.shape
    S, scale, cov, imputed = _ai2016_parts(key, Z, y, d, k, seed, pools)
    pS = p[S]
    f = pS * (1 - pS)
    V = np.linalg.inv(info) / n
    if estimand == "ATE":
        c = scale * (f[:, None] * (cov[1] / pS[:, None] + cov[0] / (1 - pS)[:, None])).sum(0) / n
        return float(c @ V @ c)
    n1 = float(d.sum())
    c = scale * (f[:, None] * (cov[1] + (pS / (1 - pS))[:, None] * cov[0])).sum(0) / n1
    eff = imputed[1] - imputed[0]
    dt = scale * ((f * (eff - tau)) @ Z[S]) / n1
    return float(c @ V @ c - dt @ V @ dt)


