"""Discrete-time cause-specific hazards on at-risk person-months, never expanded in full.

The duration estimator (causal.estimators.duration) needs, for every exit cause j (work and
each competing exit), the logit of the monthly hazard of leaving by cause j given being at
risk (Allison 1982; Jenkins 1995), then the cumulative incidence of work standardised over
the persons with treatment set to 1 and to 0 (Beyersmann, Allignol and Schumacher 2012):

    CIF_i(H) = sum_{t<H} h_work,it S_i,t-1,   S_i,t = prod_{s<=t} (1 - sum_j h_j,is),

with h = 0 for months that do not end by the person's AOW date (a deterministic competing
exit), and its delta-method gradient in all causes' coefficients.

Why hand-written: statsmodels' GLM needs the whole person-month design matrix in memory,
several times over (1M persons x 12 months x ~20 columns is 1.9 GB per copy), and no
installed library turns cause-specific discrete hazards into standardised cumulative
incidence. Here the person-months exist only a chunk of persons at a time: the logit is fitted
by Newton-Raphson with X'WX and X'(y - mu) accumulated chunk by chunk (the same estimator as
statsmodels' GLM Binomial; ``tests/test_duration.py`` checks the coefficients and the
person-clustered covariance against it), and the cumulative incidence and its gradient are
accumulated month by month over persons. Memory is O(chunk rows x columns + persons x
columns), not O(persons x months x columns).

Each cause is a separate binary logit on the same risk set (exits by other causes are
non-events in their month): the cause-specific discrete hazards; Allison (1982) shows they
approximate the multinomial logit closely when monthly hazards are small. Their covariance is
the joint person-clustered sandwich (one bread block per cause, the meat from each person's
stacked scores), with statsmodels' CR1 factor G/(G-1) (N-1)/(N-K).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special  # deferred by `causal check` (causal.lazyimport)

from causal.errors import EstimationError

#: person-month rows per chunk (about 100 MB of design at 25 columns).
CHUNK_ROWS = 500_000


@dataclass
class PersonMonths:
    """Per person: months at risk ``r`` (within the horizon, ending by the AOW date and by
    the end of the spell) and the cause (0 none, 1 work, 2.. competing) of an exit in month
    r - 1. The time-varying terms are computed per month from ``mta`` (months to the AOW
    date at inflow) and ``m0`` (calendar month of inflow, an index into ``U``)."""

    r: np.ndarray          # int, months at risk (0..H)
    cause: np.ndarray      # int8
    mta: np.ndarray        # float
    aow_months: np.ndarray  # int, months that end by the AOW date (0..H)
    m0: np.ndarray         # int, index into U of the inflow month
    U: np.ndarray | None   # unemployment rate by calendar month (None: no cycle term)
    Xs: np.ndarray         # (n, p) centred static covariates
    d: np.ndarray          # treatment 0/1
    H: int
    aow_gradient: bool = True

    @property
    def n(self) -> int:
        return len(self.r)

    def chunks(self):
        """Person ranges [lo, hi) of at most about CHUNK_ROWS person-months."""
        step = max(1, CHUNK_ROWS // max(self.H, 1))
        for lo in range(0, self.n, step):
            yield lo, min(self.n, lo + step)

    def rows(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Person index and spell month of every at-risk person-month of persons lo..hi."""
        r = self.r[lo:hi]
        pi = np.repeat(np.arange(lo, hi), r)
        starts = np.repeat(np.cumsum(r) - r, r)
        return pi, np.arange(len(pi)) - starts


@dataclass
class Cause:
    """One exit cause's hazard model: baseline month groups, or a constant hazard."""

    name: str
    code: int
    groups: np.ndarray     # baseline group per spell month (group 0 = reference)
    full: bool = True      # treatment, AOW, cycle and covariate terms (else intercept only)

    def k(self, pm: PersonMonths) -> int:
        if not self.full:
            return 1
        return (int(self.groups.max()) + 1 + 1 + int(pm.aow_gradient)
                + int(pm.U is not None) + pm.Xs.shape[1])

    @property
    def j_treat(self) -> int:
        return int(self.groups.max()) + 1

    def design(self, pm: PersonMonths, idx: np.ndarray, t: np.ndarray | int,
               dval: np.ndarray | float | None = None) -> np.ndarray:
        """Rows for persons ``idx`` in spell months ``t`` (treatment ``dval``, default own)."""
        m = len(idx)
        X = np.zeros((m, self.k(pm)))
        X[:, 0] = 1.0
        if not self.full:
            return X
        g = self.groups[t]
        G = int(self.groups.max())
        if np.ndim(g) == 0:
            if g > 0:
                X[:, g] = 1.0
        else:
            sel = g > 0
            X[np.flatnonzero(sel), g[sel]] = 1.0
        c = G + 1
        X[:, c] = pm.d[idx] if dval is None else dval
        c += 1
        if pm.aow_gradient:
            X[:, c] = np.clip(5.0 - (pm.mta[idx] - t) / 12.0, 0.0, 5.0)
            c += 1
        if pm.U is not None:
            X[:, c] = pm.U[pm.m0[idx] + t] - 5.0
            c += 1
        if pm.Xs.shape[1]:
            X[:, c:] = pm.Xs[idx]
        return X


def fit_logit(pm: PersonMonths, cause: Cause, weights: np.ndarray | None = None,
              beta0: np.ndarray | None = None, tol: float = 1e-10,
              max_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logit of the cause's monthly hazard; (beta, X'WX at beta).

    Newton-Raphson from ``beta0`` (else zero with the intercept at the mean hazard), with
    step halving when the log-likelihood falls. ``weights`` are person frequency weights
    (the cluster bootstrap)."""
    k = cause.k(pm)
    beta = np.zeros(k) if beta0 is None else np.array(beta0, dtype=float)
    if beta0 is None:
        y_bar = _mean_event(pm, cause, weights)
        beta[0] = np.log(y_bar / (1 - y_bar))
    ll_old, step = -np.inf, np.zeros(k)
    for _ in range(max_iter):
        ll, grad, hess = _pass(pm, cause, beta, weights)
        if ll < ll_old - 1e-9 * abs(ll_old):  # overshoot: halve the last step
            step = step / 2
            beta = beta - step
            continue
        step = np.linalg.solve(hess, grad)
        if not np.all(np.isfinite(step)):
            break
        beta = beta + step
        ll_old = ll
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            _, _, hess = _pass(pm, cause, beta, weights)
            return beta, hess
    raise EstimationError(f"the hazard model of exit '{cause.name}' did not converge (too few "
                          "exits of that kind in some treatment arm or covariate group?)")


def _mean_event(pm: PersonMonths, cause: Cause, weights: np.ndarray | None) -> float:
    w = np.ones(pm.n) if weights is None else weights
    rows = float(w @ pm.r)
    events = float(w @ ((pm.cause == cause.code) & (pm.r > 0)))
    if rows == 0 or events == 0:
        raise EstimationError(f"no exits '{cause.name}' at risk to fit a hazard to")
    return min(events / rows, 1 - 1e-9)


def _pass(pm, cause, beta, weights):
    """Log-likelihood, score and X'WX over every at-risk person-month, chunk by chunk."""
    k = len(beta)
    ll, grad, hess = 0.0, np.zeros(k), np.zeros((k, k))
    for lo, hi in pm.chunks():
        pi, ti = pm.rows(lo, hi)
        if not len(pi):
            continue
        X = cause.design(pm, pi, ti)
        y = ((pm.cause[pi] == cause.code) & (ti == pm.r[pi] - 1)).astype(float)
        eta = X @ beta
        mu = special.expit(eta)
        w = np.ones(len(pi)) if weights is None else weights[pi]
        # log-likelihood y*eta - log(1 + e^eta), computed stably
        ll += float(w @ (y * eta - np.logaddexp(0.0, eta)))
        grad += X.T @ (w * (y - mu))
        hess += (X * (w * mu * (1 - mu))[:, None]).T @ X
    return ll, grad, hess


def cluster_cov(pm: PersonMonths, causes: list[Cause], betas: list[np.ndarray],
                hessians: list[np.ndarray]) -> np.ndarray:
    """Person-clustered (CR1) covariance of all causes' coefficients stacked."""
    K = sum(len(b) for b in betas)
    meat = np.zeros((K, K))
    nobs = int(pm.r.sum())
    for lo, hi in pm.chunks():
        pi, ti = pm.rows(lo, hi)
        if not len(pi):
            continue
        r = pm.r[lo:hi]
        starts = (np.cumsum(r) - r)[r > 0]
        parts = []
        for c, b in zip(causes, betas, strict=True):
            X = c.design(pm, pi, ti)
            y = ((pm.cause[pi] == c.code) & (ti == pm.r[pi] - 1)).astype(float)
            parts.append(np.add.reduceat(X * (y - special.expit(X @ b))[:, None], starts, axis=0))
        S = np.concatenate(parts, axis=1)
        meat += S.T @ S
    bread = np.zeros((K, K))
    o = 0
    for h in hessians:
        bread[o:o + len(h), o:o + len(h)] = np.linalg.inv(h)
        o += len(h)
    G = int((pm.r > 0).sum())
    factor = G / (G - 1) * (nobs - 1) / (nobs - K)
    return bread @ meat @ bread * factor


@dataclass
class Incidence:
    """Standardised cumulative incidence with treatment set to one value."""

    cif_work: np.ndarray             # per person, work by H
    cif_causes: np.ndarray           # (persons, causes) every cause by H
    by_month: dict[str, np.ndarray]  # 'all', 'treated', 'control': mean CIF of work by month
    grad: np.ndarray | None          # gradient of the weighted mean CIF_work(H) in betas


def incidence(pm: PersonMonths, causes: list[Cause], betas: list[np.ndarray], dval: float,
              weights: np.ndarray | None = None, grad: bool = True) -> Incidence:
    """Cumulative incidence of each cause, accumulated month by month (causes[0] is work).

    Gradient of CIF_work(H) = sum_t h_wt S_t-1 in cause j's coefficients, with
    d h_jt = h_jt (1 - h_jt) x_jt and d log S_t-1 = -sum_{s<t} h_js (1 - h_js) x_js / (1 -
    sum_l h_ls):  sum_t S_t-1 [1{j = work} h_wt (1 - h_wt) x_wt - h_wt A_j,t-1], with A_j
    the running sum in the second formula."""
    n, H, J = pm.n, pm.H, len(causes)
    w_all = np.ones(n) if weights is None else weights.astype(float)
    W = w_all.sum()
    cif_w = np.zeros(n)
    cif_c = np.zeros((n, J))
    months = {k: np.zeros(H) for k in ("all", "treated", "control")}
    gsum = [np.zeros(c.k(pm)) for c in causes]
    step = max(1, CHUNK_ROWS // max(sum(c.k(pm) for c in causes), 1) * 4)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        idx_all = np.arange(lo, hi)
        S = np.ones(hi - lo)
        A = [np.zeros((hi - lo, c.k(pm))) for c in causes] if grad else None
        for t in range(H):
            sub = np.flatnonzero(pm.aow_months[lo:hi] > t)
            if len(sub):
                idx = idx_all[sub]
                Xs = [c.design(pm, idx, t, dval) for c in causes]
                h = np.stack([special.expit(X @ b) for X, b in zip(Xs, betas, strict=True)], axis=1)
                surv = np.clip(1.0 - h.sum(axis=1), 1e-12, None)
                Sp = S[sub]
                if grad:
                    ws = w_all[idx] * Sp
                    hw = h[:, 0]
                    for j in range(J):
                        term = -(hw[:, None] * A[j][sub])
                        if j == 0:
                            term += (hw * (1 - hw))[:, None] * Xs[0]
                        gsum[j] += ws @ term
                    for j in range(J):
                        A[j][sub] += (h[:, j] * (1 - h[:, j]) / surv)[:, None] * Xs[j]
                cif_c[lo + sub] += h * Sp[:, None]
                S[sub] = Sp * surv
            c = cif_c[lo:hi, 0]
            dd = pm.d[lo:hi]
            ww = w_all[lo:hi]
            months["all"][t] += ww @ c
            months["treated"][t] += (ww * (dd == 1)) @ c
            months["control"][t] += (ww * (dd == 0)) @ c
    cif_w[:] = cif_c[:, 0]
    w1, w0 = float(w_all @ (pm.d == 1)), float(w_all @ (pm.d == 0))
    by_month = {"all": months["all"] / W, "treated": months["treated"] / max(w1, 1e-300),
                "control": months["control"] / max(w0, 1e-300)}
    g = np.concatenate(gsum) / W if grad else None
    return Incidence(cif_w, cif_c, by_month, g)
