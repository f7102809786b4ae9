"""One inference layer: the standard error of a linear-model coefficient, by name.

Every estimator that reports a regression-type standard error asks for it here (``se``
option), and clusters by the level at which treatment was assigned unless told otherwise
(spec ``treatment.assigned_by``, option ``cluster``). Flavours, all for OLS
``beta = (X'X)^-1 X'y`` with bread ``A = (X'X)^-1`` and residuals ``e``:

- ``classical``: ``s^2 A`` with ``s^2 = e'e / (n - k)``; t(n - k) interval.
- ``HC0`` (White 1980), ``HC1`` (times n/(n-k)), ``HC2`` (``e_i^2/(1-h_ii)``), ``HC3``
  (``e_i^2/(1-h_ii)^2``; MacKinnon and White 1985); normal interval.
- ``CR1``: the cluster sandwich ``A sum_g X_g'e_g e_g'X_g A`` times
  ``G/(G-1) (n-1)/(n-k)`` (Liang and Zeger 1986; the Stata, statsmodels and pyfixest
  default); t(G - 1) interval (Cameron and Miller 2015).
- ``CR2`` (Bell and McCaffrey 2002; Pustejovsky and Tipton 2018): residuals of cluster g
  multiplied by ``(I - H_gg)^-1/2`` before the sandwich, with the Bell-McCaffrey degrees of
  freedom for the coefficient under a homoskedastic working model (Imbens and Kolesar 2016);
  t(dof) interval. ``H_gg`` has rank at most k, so both are computed from k x k
  eigen-decompositions per cluster, never from an n_g x n_g matrix (sectors hold tens of
  thousands of persons).

Few clusters. Cluster-robust errors need many clusters (Cameron, Gelbach and Miller 2008).
With fewer than :data:`FEW_CLUSTERS` clusters the headline interval is the wild cluster
bootstrap with the null imposed (WCR, "restricted"; Cameron, Gelbach and Miller 2008;
Roodman, MacKinnon, Nielsen and Webb 2019), inverted into an interval: the set of effects
b0 that the bootstrap test of ``beta = b0`` does not reject. Rademacher weights (all 2^G
sign patterns when that is fewer than the draws), Webb's six-point weights with fewer than
:data:`WEBB_BELOW` clusters (Webb 2023). With fewer than :data:`MIN_TREATED_CLUSTERS`
treated (or untreated) clusters no method separates the effect from group shocks
(MacKinnon and Webb 2017, 2018: the wild bootstrap then over- or under-rejects badly): no
interval is given, and a warning says why.

Why written here on numpy, and not delegated (decided by ``benchmarks/inference.py``, which
runs all of them on the same data in one process; ``benchmarks/results/inference.txt``):
statsmodels and linearmodels give classical/HC0-HC3/CR1 but not CR2 or Bell-McCaffrey
degrees of freedom; pyfixest gives CR1/CR3 and a fast fixed-effects solver but not CR2;
``wildboottest`` (also behind pyfixest's ``wildboottest()``) returns a p-value for
``beta = 0`` only and recompiles a numba kernel on every call, so it cannot be inverted into
an interval in reasonable time. One sandwich on a thin QR serves every flavour from one fit.
Speed at 1,000,000 rows on the shared 2-core machine (load 12 to 20, so the ratios are
rough): OLS with HC1 and CR1, ours 7.2 s against statsmodels 26.4 s and pyfixest 22.4 s;
two-way fixed effects with CR1, ours 4.2 s against linearmodels 20.4 s and pyfixest 6.5 s
(a second run under heavier load had pyfixest ahead there). pyfixest would win with many
high-dimensional fixed effects; netto's designs have one (units, projected out by a group
mean) and a few periods. The tests check each flavour against statsmodels, linearmodels and
pyfixest to 1e-8, and the bootstrap p-value against ``wildboottest`` with the same weights
(which is therefore a test dependency only: it would bring numba into the core install).

Assumed: errors independent across clusters (across persons without clusters); the
coefficient's sampling distribution close to normal (t) at the sample size, which is what
the few-cluster rules guard.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from causal.errors import DataError, EstimationError
from causal.estimators import Options
from causal.randomization import RandomizationTest, invert_test

SE = Literal["classical", "HC0", "HC1", "HC2", "HC3", "CR1", "CR2"]
#: below this many clusters the headline interval is the wild cluster bootstrap
FEW_CLUSTERS = 30
#: below this many treated (or untreated) clusters no interval is given
MIN_TREATED_CLUSTERS = 5
#: below this many clusters the bootstrap uses Webb's six-point weights
WEBB_BELOW = 12


class ClusterOptions(Options):
    """The clustering options every estimator with a cluster-robust variance shares."""

    cluster: str | None = Field(
        None, description="Column to cluster the standard errors by. Default: the spec's "
        "treatment.assigned_by (the level at which treatment was assigned), else none.")
    wild_draws: int = Field(
        999, ge=0, le=99_999, description="Draws of the wild cluster bootstrap that gives the "
        "headline interval when there are fewer than 30 clusters; 0 keeps the analytic "
        "interval.")


class InferenceOptions(ClusterOptions):
    """The standard-error options every regression-type estimator shares."""

    se: Literal["auto", "classical", "HC0", "HC1", "HC2", "HC3", "CR1", "CR2"] = Field(
        "auto", description="Standard-error flavour: classical, HC0-HC3 (heteroskedasticity-"
        "robust), CR1 (cluster-robust) or CR2 (Bell-McCaffrey, for few clusters). auto: CR1 "
        "when clustered, else the estimator's own default.")
    seed: int = Field(0, ge=0, description="Seed of the bootstrap weights (and any other "
                      "random step of the estimator).")
    inference: Literal["auto", "randomization"] = Field(
        "auto", description="auto: the standard error's interval with the few-cluster rules "
        "(wild cluster bootstrap under 30 clusters, no interval under 5 treated or untreated "
        "ones). randomization: Fisher randomisation inference over which clusters are treated "
        "(permutation p-value and the interval that inverts it; Young 2019, MacKinnon and "
        "Webb 2020), for treatment assigned by cluster as if at random; all assignments when "
        "there are at most max(wild_draws, 999), else that many at random.")


@dataclass
class Inference:
    """A coefficient with its standard error and interval, and how they were computed."""

    coef: float
    se: float | None
    ci: tuple[float, float] | None
    se_type: str
    n_clusters: int | None = None
    dof: float | None = None
    warnings: list[str] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`causal.study.Study.estimate`."""
        return {"ci": self.ci, "se": self.se, "se_type": self.se_type,
                "n_clusters": self.n_clusters}

    def attach(self, est) -> Any:
        """Add this inference's warnings and diagnostics to an Estimate; returns it."""
        est.warnings.extend(w for w in self.warnings if w not in est.warnings)
        est.diagnostics.setdefault("inference", {}).update(self.diagnostics)
        return est


# --------------------------------------------------------------------------------------
# Clusters
# --------------------------------------------------------------------------------------
def cluster_column(study, option: str | None) -> str | None:
    """The column to cluster by: the option, else the spec's ``treatment.assigned_by``."""
    return option or getattr(study.spec.treatment, "assigned_by", None)


def cluster_codes(study, column: str, who: str, data: pd.DataFrame | None = None
                  ) -> np.ndarray:
    """Integer cluster codes 0..G-1 (sorted by value) of ``column``; a DataError names it
    when the data lack it or it has gaps."""
    df = study.data if data is None else data
    if column not in df.columns:
        src = "option 'cluster'" if column != getattr(study.spec.treatment, "assigned_by",
                                                       None) else "treatment.assigned_by"
        raise DataError(study.source, f"the {who} estimator clusters by this column ({src}), "
                        "but the data do not have it", column=column)
    if df[column].isna().any():
        raise DataError(study.source, f"{int(df[column].isna().sum())} rows have no value of "
                        "the cluster column", column=column)
    return pd.factorize(df[column], sort=True)[0].astype(np.int64)


# --------------------------------------------------------------------------------------
# Sandwiches
# --------------------------------------------------------------------------------------
@dataclass
class OLSFit:
    """A thin-QR OLS fit: what every flavour needs."""

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    resid: np.ndarray
    bread: np.ndarray  # (X'X)^-1
    Q: np.ndarray
    #: parameters absorbed before the fit (fixed effects projected out): counted in the
    #: small-sample factors' n - k
    k_absorbed: int = 0

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def k(self) -> int:
        return self.X.shape[1] + self.k_absorbed

    @property
    def leverage(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.Q, self.Q)


def ols(y: np.ndarray, X: np.ndarray, k_absorbed: int = 0) -> OLSFit:
    """OLS by thin QR (X must have full column rank; the callers drop collinear columns)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    Q, R = np.linalg.qr(X)
    if X.shape[1] and np.abs(np.diag(R)).min() <= 1e-10 * np.abs(np.diag(R)).max():
        raise EstimationError("the regressors are collinear (a covariate is a combination of "
                              "others or of the treatment); drop one")
    beta = np.linalg.solve(R, Q.T @ y)
    Rinv = np.linalg.inv(R)
    return OLSFit(X, y, beta, y - X @ beta, Rinv @ Rinv.T, Q, k_absorbed)


def full_rank(X: np.ndarray, j: int) -> tuple[np.ndarray, int, int]:
    """X without the columns that are linear combinations of the columns before them (in
    the caller's order of priority: constant, treatment, covariates, interactions), the new
    index of column j and the number dropped (a Lin interaction with a category no
    participant has, say). An unpivoted QR: R_ii is about 0 exactly when column i lies in
    the span of the columns before it."""
    X = np.asarray(X, dtype=float)
    if X.shape[1] == 0:
        return X, j, 0
    scale = np.abs(X).max(axis=0)
    R = np.linalg.qr(X / np.where(scale > 0, scale, 1.0), mode="r")
    dg = np.abs(np.diag(R))
    keep = dg > 1e-9 * max(dg.max(), 1e-300)
    if not keep[j]:
        raise EstimationError("the treatment is a linear combination of the other regressors "
                              "(no variation left to estimate its effect)")
    if keep.all():
        return X, j, 0
    return X[:, keep], int(keep[:j].sum()), int((~keep).sum())


def vcov(fit: OLSFit, kind: SE, clusters: np.ndarray | None = None) -> np.ndarray:
    """The k x k covariance of the coefficients for flavour ``kind``."""
    X, e, A, n, k = fit.X, fit.resid, fit.bread, fit.n, fit.k
    if kind == "classical":
        return A * (e @ e) / (n - k)
    if kind in ("HC0", "HC1", "HC2", "HC3"):
        w = e ** 2
        if kind in ("HC2", "HC3"):
            h = np.clip(1.0 - fit.leverage, 1e-12, None)
            w = w / (h if kind == "HC2" else h ** 2)
        V = A @ ((X * w[:, None]).T @ X) @ A
        return V * n / (n - k) if kind == "HC1" else V
    if clusters is None:
        raise ValueError(f"{kind} needs clusters")
    G = int(clusters.max()) + 1
    if kind == "CR1":
        S = _cluster_sums(X * e[:, None], clusters, G)
        return A @ (S.T @ S) @ A * G / (G - 1) * (n - 1) / (n - k)
    if kind == "CR2":
        S = _cluster_sums(X * _cr2_resid(fit, clusters, G)[:, None], clusters, G)
        return A @ (S.T @ S) @ A
    raise ValueError(kind)


def _cluster_sums(M: np.ndarray, clusters: np.ndarray, G: int) -> np.ndarray:
    """Column sums of M within each cluster: G x k (a bincount per column: np.add.at is
    an order of magnitude slower on a million rows)."""
    return np.column_stack([np.bincount(clusters, weights=M[:, i], minlength=G)
                            for i in range(M.shape[1])]) if M.shape[1] else np.zeros((G, 0))


def _groups(clusters: np.ndarray, G: int) -> list[np.ndarray]:
    order = np.argsort(clusters, kind="stable")
    return np.split(order, np.cumsum(np.bincount(clusters, minlength=G))[:-1])


def _inv_sqrt_i_minus_h(Xg: np.ndarray, A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(I - H_gg)^-1/2 v with H_gg = X_g A X_g' (rank <= k): through the eigen-decomposition
    of the k x k matrix A^1/2 X_g'X_g A^1/2 (Bell and McCaffrey 2002)."""
    L = np.linalg.cholesky(A)
    B = L.T @ (Xg.T @ Xg) @ L
    lam, Qe = np.linalg.eigh(B)
    ok = lam > 1e-12
    lam, Qe = lam[ok], Qe[:, ok]
    W = Xg @ L @ Qe / np.sqrt(lam)          # orthonormal columns spanning H_gg
    f = 1.0 / np.sqrt(np.clip(1.0 - lam, 1e-12, None)) - 1.0
    return v + W @ (f * (W.T @ v))


def _cr2_resid(fit: OLSFit, clusters: np.ndarray, G: int) -> np.ndarray:
    out = np.empty_like(fit.resid)
    for idx in _groups(clusters, G):
        out[idx] = _inv_sqrt_i_minus_h(fit.X[idx], fit.bread, fit.resid[idx])
    return out


def bell_mccaffrey_dof(fit: OLSFit, clusters: np.ndarray, j: int) -> float:
    """Bell-McCaffrey degrees of freedom of coefficient j's CR2 t-statistic, under a
    homoskedastic working model (Bell and McCaffrey 2002; Imbens and Kolesar 2016):
    (sum lambda)^2 / sum lambda^2 over the eigenvalues of G'G, with column g of G equal to
    (I - H)_{., g} (I - H_gg)^-1/2 X_g A e_j. G'G = diag(u_g'u_g) - S'AS with
    u_g = (I - H_gg)^-1/2 X_g A e_j and S = [X_g'u_g]: G x G, no n x n matrix."""
    G = int(clusters.max()) + 1
    a = fit.bread[:, j]
    uu = np.empty(G)
    S = np.empty((fit.k, G))
    for g, idx in enumerate(_groups(clusters, G)):
        Xg = fit.X[idx]
        u = _inv_sqrt_i_minus_h(Xg, fit.bread, Xg @ a)
        uu[g] = u @ u
        S[:, g] = Xg.T @ u
    M = np.diag(uu) - S.T @ fit.bread @ S
    lam = np.linalg.eigvalsh((M + M.T) / 2)
    return float(lam.sum() ** 2 / (lam ** 2).sum())


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


# --------------------------------------------------------------------------------------
# The one entry point
# --------------------------------------------------------------------------------------
def _flavour_name(kind: str, cluster_name: str | None) -> str:
    return {"classical": "classical (homoskedastic)",
            "HC0": "HC0 robust", "HC1": "HC1 robust", "HC2": "HC2 robust",
            "HC3": "HC3 robust"}.get(kind, f"{kind} clustered by {cluster_name}")


def coefficient(y: np.ndarray, X: np.ndarray, j: int, *, se: str = "auto",
                default: SE = "HC1", clusters: np.ndarray | None = None,
                cluster_name: str | None = None, treated: np.ndarray | None = None,
                alpha: float = 0.05, wild_draws: int = 999, seed: int = 0,
                comparison: np.ndarray | None = None, k_absorbed: int = 0,
                inference: str = "auto",
                design_of: Callable[[np.ndarray], np.ndarray] | None = None) -> Inference:
    """Coefficient ``j`` of the OLS of y on X (X has its constant), with the asked standard
    error and interval, and the few-cluster rules of the module docstring.

    ``treated``: the 0/1 treatment per row, to count treated and untreated clusters (those
    with a ``comparison`` row, default: an untreated row). ``k_absorbed``: parameters
    projected out of y and X before the call (fixed effects), for the small-sample factors.
    ``inference="randomization"``: the headline interval and p-value by randomisation
    inference over which clusters are treated (:mod:`causal.randomization`);
    ``design_of(treated_clusters)`` builds X for any such assignment (column j is the
    treatment).
    """
    X_in, j_in = X, j
    X, j, n_dropped = full_rank(X, j)
    fit = ols(y, X, k_absorbed)
    b = float(fit.beta[j])
    n, k = X.shape[0], fit.k
    kind: str = se if se != "auto" else ("CR1" if clusters is not None else default)
    if kind in ("CR1", "CR2") and clusters is None:
        raise EstimationError(f"se: {kind} needs a cluster column (option cluster, or the "
                              "spec's treatment.assigned_by)")
    if inference == "randomization" and (clusters is None or treated is None
                                         or design_of is None):
        raise EstimationError("inference: randomization permutes which clusters are treated: "
                              "it needs a cluster column (option cluster, or the spec's "
                              "treatment.assigned_by) and an estimator that supports it "
                              "(naive, rct_difference and regression without Lin "
                              "interactions, did with one adoption date)")
    if clusters is not None and kind not in ("CR1", "CR2"):
        clusters = None  # a person-level flavour asked for explicitly: no clustering
        cluster_name = None
    diag: dict[str, Any] = {"se_flavour": kind, "n": int(n), "k": int(k),
                            "collinear_columns_dropped": n_dropped}
    warns: list[str] = []
    if clusters is None:
        V = vcov(fit, kind)  # type: ignore[arg-type]
        s = float(np.sqrt(max(V[j, j], 0.0)))
        dof = float(n - k) if kind == "classical" else None
        q = stats.t.ppf(1 - alpha / 2, dof) if dof else stats.norm.ppf(1 - alpha / 2)
        return Inference(b, s, (b - q * s, b + q * s), _flavour_name(kind, None), None, dof,
                         warns, diag)
    G = int(clusters.max()) + 1
    if G < 2:
        raise EstimationError(f"clustering by '{cluster_name}' leaves one cluster: "
                              "cluster-robust errors need many; cluster by a finer column")
    V = vcov(fit, kind, clusters)  # type: ignore[arg-type]
    s = float(np.sqrt(max(V[j, j], 0.0)))
    dof = bell_mccaffrey_dof(fit, clusters, j) if kind == "CR2" else float(G - 1)
    diag.update({"cluster": cluster_name, "n_clusters": G, "dof": dof})
    q = stats.t.ppf(1 - alpha / 2, dof)
    ci: tuple[float, float] | None = (b - q * s, b + q * s)
    name = _flavour_name(kind, cluster_name)
    if treated is not None:
        t_cl = np.bincount(clusters, weights=treated, minlength=G) > 0
        comp = 1 - treated if comparison is None else comparison
        u_cl = np.bincount(clusters, weights=comp, minlength=G) > 0
        n_t, n_u = int(t_cl.sum()), int(u_cl.sum())
        diag.update({"treated_clusters": n_t, "untreated_clusters": n_u})
        if inference == "randomization":
            ri = _randomization(y, X_in, j_in, clusters, treated, design_of, alpha,
                                wild_draws, seed, cluster_name or "cluster", s)
            diag.update({"analytic_ci": list(ci), **ri.diagnostics})
            return Inference(b, s, ri.ci, f"{ri.se_type} (SE {name})", G, dof,
                             warns + ri.warnings, diag)
        if min(n_t, n_u) < MIN_TREATED_CLUSTERS:
            warn, what = too_few_groups(n_t, n_u, cluster_name or "cluster")
            warns.append(warn)
            diag.update({"analytic_ci": list(ci), "analytic_se": s})
            return Inference(b, None, None, f"{what} ({name})", G, dof, warns, diag)
    if G < FEW_CLUSTERS and wild_draws > 0:
        boot = WildClusterBootstrap(y, X, clusters, j, wild_draws, seed, k_absorbed=k_absorbed)
        lo, hi = boot.interval(alpha)
        diag.update({"analytic_ci": list(ci), "wild_bootstrap": {
            "weights": boot.weights, "draws": int(boot.draws),
            "full_enumeration": bool(boot.full_enumeration), "seed": seed,
            "p_value_zero": boot.p_value(0.0)}})
        ci = (lo, hi)
        name = (f"wild cluster bootstrap by {cluster_name} ({boot.weights} weights, "
                f"{boot.draws} draws; SE {kind})")
    elif G < FEW_CLUSTERS:
        warns.append(f"only {G} clusters of '{cluster_name}': cluster-robust intervals "
                     "tend to be too narrow with fewer than 30 (Cameron, Gelbach and Miller "
                     "2008); the wild cluster bootstrap is off (wild_draws: 0)")
    return Inference(b, s, ci, name, G, dof, warns, diag)


def _randomization(y: np.ndarray, X: np.ndarray, j: int, clusters: np.ndarray,
                   treated: np.ndarray, design_of, alpha: float, draws: int, seed: int,
                   cluster_name: str, scale: float) -> Inference:
    """Fisher randomisation inference over which clusters are treated (module
    :mod:`causal.randomization`): the p-value of a zero effect and the inverted interval;
    no interval, with the reason, where the assignments are too few to reject at alpha."""
    G = int(clusters.max()) + 1
    share = np.bincount(clusters, weights=treated, minlength=G) / np.bincount(clusters,
                                                                               minlength=G)
    if ((share > 0) & (share < 1)).any():
        raise EstimationError(f"inference: randomization needs treatment assigned by "
                              f"'{cluster_name}' (everyone in a group treated or no one), but "
                              f"{int(((share > 0) & (share < 1)).sum())} groups are mixed")
    test = RandomizationTest(y, design_of, share > 0.5, j, max(draws, 999), seed)
    lo, hi = test.interval(alpha, scale)
    n_t = int((share > 0.5).sum())
    what = (f"randomization inference over which {n_t} of {G} groups of '{cluster_name}' are "
            f"treated ({test.n_assignments} {'assignments, all' if test.exact else 'random assignments'}; "
            "sharp null of a constant effect, interval by test inversion)")
    diag = {"randomization": {"assignments": test.n_assignments, "exact": test.exact,
                              "treated_groups": n_t, "groups": G,
                              "p_value_zero": test.p_value(0.0), "seed": seed}}
    warns: list[str] = []
    ci: tuple[float, float] | None = (lo, hi)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        ci = None
        warns.append(f"randomization inference: with {n_t} of {G} groups treated there are "
                     f"{test.n_assignments} possible assignments, too few to rule out any "
                     f"effect at the {1 - alpha:.0%} level on "
                     f"{'either side' if not (np.isfinite(lo) or np.isfinite(hi)) else 'one side'}"
                     ": no interval, the p-value of a zero effect is "
                     f"{test.p_value(0.0):.2f}")
    return Inference(test.coef, None, ci, what, G, None, warns, diag)


def too_few_groups(n_treated: int, n_comparison: int, column: str) -> tuple[str, str]:
    """The warning and the standard-error label when too few groups are treated (or
    untreated) to give any interval."""
    counts = f"groups with the treatment: {n_treated}, without: {n_comparison}"
    return (f"too few groups of '{column}' ({counts}; at least {MIN_TREATED_CLUSTERS} of each "
            "are needed) to separate the effect from shocks that hit whole groups (MacKinnon "
            "and Webb 2017): no interval is given, the number is a point estimate only",
            f"no interval: too few groups ({counts})")


def for_study(study, options: InferenceOptions, who: str, y: np.ndarray, X: np.ndarray,
              j: int, default: SE = "HC1", treated: np.ndarray | None = None,
              data: pd.DataFrame | None = None, alpha: float = 0.05,
              design_of: Callable[[np.ndarray], np.ndarray] | None = None) -> Inference:
    """:func:`coefficient` with the options and the study's default cluster column.
    ``design_of``: X for another assignment of treatment to clusters (randomisation
    inference); None where the estimator does not support it."""
    col = cluster_column(study, options.cluster)
    if options.se in ("classical", "HC0", "HC1", "HC2", "HC3") and not options.cluster:
        col = None
    cl = cluster_codes(study, col, who, data) if col else None
    return coefficient(y, X, j, se=options.se, default=default, clusters=cl,
                       cluster_name=col, treated=treated, alpha=alpha,
                       wild_draws=options.wild_draws, seed=options.seed,
                       inference=options.inference,
                       design_of=None if design_of is None or cl is None else
                       lambda pi: design_of(pi[cl].astype(float)))


def swap_treatment(X: np.ndarray, j: int) -> Callable[[np.ndarray], np.ndarray]:
    """``design_of`` for a design whose only treatment-dependent column is j: X with column
    j replaced by the treatment of another assignment (per row)."""
    def design_of(d: np.ndarray) -> np.ndarray:
        Xp = X.copy()
        Xp[:, j] = d
        return Xp
    return design_of


def influence_se(phi: np.ndarray, clusters: np.ndarray | None = None) -> float:
    """Standard error of a mean-zero influence function phi (per unit): sd(phi)/sqrt(n), or
    with clusters sqrt(G/(G-1) sum_g (sum_{i in g} phi_i)^2) / n (Liang and Zeger 1986)."""
    n = len(phi)
    if clusters is None:
        return float(phi.std(ddof=1) / np.sqrt(n))
    G = int(clusters.max()) + 1
    s = np.bincount(clusters, weights=phi - phi.mean(), minlength=G)
    return float(np.sqrt(G / (G - 1) * (s ** 2).sum()) / n)


# --------------------------------------------------------------------------------------
# Influence-function estimators (Callaway-Sant'Anna): clustered by summing the IF
# --------------------------------------------------------------------------------------
def influence_inference(coef: float, phi: np.ndarray, clusters: np.ndarray | None = None,
                        cluster_name: str | None = None, *, alpha: float = 0.05,
                        draws: int = 0, seed: int = 0) -> Inference:
    """Interval of an estimator that is asymptotically linear, ``coef - theta = mean(phi)``
    with one influence-function value per unit (the package convention of ``differences``
    and R's ``did``: SE = sqrt(sum phi^2) / n).

    Without clusters: that SE and a normal interval. With clusters (units nested in them):
    the cluster sums ``S_g`` of phi give the CR1-type variance
    ``G/(G-1) sum_g S_g^2 / n^2`` (Liang and Zeger 1986; Callaway and Sant'Anna 2021,
    section 4, cluster the same way) and a t(G - 1) interval. With fewer than
    :data:`FEW_CLUSTERS` clusters (or ``draws`` asked for) also the wild cluster multiplier
    bootstrap on the cluster sums (Rademacher weights, all sign patterns when they are
    fewer than the draws, Webb's six-point weights under :data:`WEBB_BELOW` clusters): the
    studentized ``t* = sum_g v_g S_g / se*``; the headline critical value is the larger of
    its 1 - alpha quantile of |t*| and t(G - 1)'s. Why the larger: an unrestricted
    multiplier bootstrap of a linear statistic reproduces the CR0 variance and, when one
    cluster dominates the sum, a critical value below 1.96 (the over-rejection MacKinnon and
    Webb 2017 show for few treated clusters); t(G - 1) is the floor that keeps the interval
    from narrowing there, the bootstrap widens it where the cluster sums are skewed in size.
    Hand-written: ``differences`` aggregates its cluster bootstrap with cluster *means*
    only at fit time, and its aggregations clustered by the entity (netto's coverage check:
    0.57 of a nominal 0.95 at 24 clusters with group shocks).
    """
    phi = np.asarray(phi, dtype=float)
    n = phi.size
    if clusters is None:
        s = float(np.sqrt((phi ** 2).sum()) / n)
        q = float(stats.norm.ppf(1 - alpha / 2))
        return Inference(coef, s, (coef - q * s, coef + q * s), "influence function", None,
                         None, [], {"se_flavour": "influence function", "n": int(n)})
    G = int(clusters.max()) + 1
    if G < 2:
        raise EstimationError(f"clustering by '{cluster_name}' leaves one cluster: "
                              "cluster-robust errors need many; cluster by a finer column")
    S = np.bincount(clusters, weights=phi - phi.mean(), minlength=G)
    s = float(np.sqrt(G / (G - 1) * (S ** 2).sum()) / n)
    dof = float(G - 1)
    q = float(stats.t.ppf(1 - alpha / 2, dof))
    ci = (coef - q * s, coef + q * s)
    name = f"influence function, CR1 clustered by {cluster_name}"
    diag: dict[str, Any] = {"se_flavour": "CR1 (influence function)", "n": int(n),
                            "cluster": cluster_name, "n_clusters": G, "dof": dof}
    if G < FEW_CLUSTERS or draws:
        B = draws or 999
        kind = "webb" if G < WEBB_BELOW else "rademacher"
        full = kind == "rademacher" and 2 ** G < B
        V = wild_weights(kind, G, B, np.random.default_rng(seed), full)
        SV = S[:, None] * V
        se_b = np.sqrt(G / (G - 1) * ((SV - SV.mean(0)) ** 2).sum(0)) / n
        t_b = SV.sum(0) / n / np.where(se_b > 0, se_b, np.inf)
        q_boot = float(np.quantile(np.abs(t_b), 1 - alpha, method="higher"))
        diag.update({"analytic_ci": list(ci), "wild_bootstrap": {
            "weights": kind, "draws": int(V.shape[1]), "full_enumeration": bool(full),
            "seed": seed, "critical_value": q_boot, "t_critical_value": q}})
        q = max(q, q_boot)
        ci = (coef - q * s, coef + q * s)
        name = (f"wild cluster multiplier bootstrap by {cluster_name} ({kind} weights, "
                f"{V.shape[1]} draws; influence-function SE CR1)")
    return Inference(coef, s, ci, name, G, dof, [], diag)
