"""Ties in nearest-neighbour matching: every pool unit at the k-th nearest distance counts.

Abadie and Imbens (2006, section 2) define the match set of unit i as all units of the other
group at least as close as its M-th nearest, so with ties a unit has more than M matches,
each weighted 1/#matches; R's Matching (``ties = TRUE``, its default) does the same. On a
score from categorical covariates ties are the rule, not the exception, and first-found
matching then depends on the row order. In one dimension the match set is a contiguous range
of the pool sorted by (stratum, key), so it is held as [lo, hi) per query, and the imputed
outcomes and the Abadie-Imbens weights K (sum of 1/M_i over the queries using a unit) and
K2 (sum of 1/M_i^2) come from cumulative sums and difference arrays: no per-query loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causal.estimators.matching_search import _SORT_QUERIES, search_sorted

#: distances closer than this (relative to the key's scale) are ties
TIE_EPS = 1e-12


@dataclass
class TieMatches:
    lo: np.ndarray         # first sorted-pool position of each query's match set
    hi: np.ndarray         # one past the last
    ok: np.ndarray         # query has at least one match
    order: np.ndarray      # sorted position -> original pool index

    @property
    def m(self) -> np.ndarray:
        """Number of matches per query (0 where none)."""
        return np.where(self.ok, self.hi - self.lo, 0)

    def imputed(self, y_pool: np.ndarray) -> np.ndarray:
        """Mean outcome of each query's match set (nan where unmatched)."""
        cs = np.concatenate([[0.0], np.cumsum(y_pool[self.order])])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.ok, (cs[self.hi] - cs[self.lo]) / self.m, np.nan)

    def _spread(self, per_query: np.ndarray, use: np.ndarray) -> np.ndarray:
        """Sum over the used queries of ``per_query`` on every pool unit in their match set,
        in original pool order."""
        n = len(self.order)
        diff = np.zeros(n + 1)
        sel = use & self.ok
        np.add.at(diff, self.lo[sel], per_query[sel])
        np.add.at(diff, self.hi[sel], -per_query[sel])
        out = np.empty(n)
        out[self.order] = np.cumsum(diff)[:n]
        return out

    def weights(self, use: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(M per query, K per pool unit, K2 per pool unit) over the queries in ``use``."""
        m = self.m
        inv = np.where(m > 0, 1.0 / np.maximum(m, 1), 0.0)
        return m, self._spread(inv, use), self._spread(inv ** 2, use)

    def times_used(self, use: np.ndarray) -> np.ndarray:
        return self._spread(np.ones(len(self.lo)), use)


def tie_matches(pool, q_key: np.ndarray, q_str: np.ndarray, dist: np.ndarray,
                order: np.ndarray | None = None) -> TieMatches:
    """Match sets with ties from a k-nearest query's distances ``dist`` (inf = none within
    the caliper): all pool units of the same stratum within the largest matched distance.
    ``order``: a sort order of the queries (:func:`matching_search.search_sorted`)."""

    finite = np.where(np.isfinite(dist), dist, -np.inf)
    dmax = finite.max(axis=1)
    ok = np.isfinite(dmax) & (dmax >= 0)
    q = pool._composite(q_key, q_str)
    eps = TIE_EPS * max(1.0, float(np.abs(pool.comp).max()) if len(pool.comp) else 1.0)
    r = np.where(ok, dmax, 0.0) + eps
    if order is None and len(q) >= _SORT_QUERIES:
        order = np.argsort(q, kind="stable")
    lo = search_sorted(pool.comp, q - r, "left", order)
    hi = search_sorted(pool.comp, q + r, "right", order)
    return TieMatches(lo, np.where(ok, hi, lo), ok, pool.order)
