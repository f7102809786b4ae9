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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from causal.errors import DataError, EstimationError
from causal.inference_ols import (  # noqa: F401 - re-exported: the layer's sandwiches
    FEW_CLUSTERS,
    MIN_TREATED_CLUSTERS,
    SE,
    WEBB_BELOW,
    OLSFit,
    bell_mccaffrey_dof,
    full_rank,
    ols,
    vcov,
)
from causal.inference_options import ClusterOptions, InferenceOptions  # noqa: F401
from causal.inference_wild import WildClusterBootstrap, wild_weights  # noqa: F401
from causal.randomization import RandomizationTest

if TYPE_CHECKING:
    import pandas as pd


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
    import pandas as pd

    return pd.factorize(df[column], sort=True)[0].astype(np.int64)


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
        counts, few = treated_groups(treated, clusters, cluster_name or "cluster",
                                     comparison)
        diag.update(counts)
        if inference == "randomization":
            ri = _randomization(y, X_in, j_in, clusters, treated, design_of, alpha,
                                wild_draws, seed, cluster_name or "cluster", s)
            diag.update({"analytic_ci": list(ci), **ri.diagnostics})
            return Inference(b, s, ri.ci, f"{ri.se_type} (SE {name})", G, dof,
                             warns + ri.warnings, diag)
        if few is not None:
            warn, what = few
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


def treated_groups(treated: np.ndarray, clusters: np.ndarray, column: str,
                   comparison: np.ndarray | None = None
                   ) -> tuple[dict[str, int], tuple[str, str] | None]:
    """The groups with the treatment and with comparison units (default: the untreated),
    and :func:`too_few_groups`' warning and label when fewer than
    :data:`MIN_TREATED_CLUSTERS` of either (None otherwise)."""
    G = int(clusters.max()) + 1
    comp = 1 - treated if comparison is None else comparison
    n_t = int((np.bincount(clusters, weights=treated, minlength=G) > 0).sum())
    n_u = int((np.bincount(clusters, weights=comp, minlength=G) > 0).sum())
    counts = {"treated_clusters": n_t, "untreated_clusters": n_u}
    return counts, (too_few_groups(n_t, n_u, column)
                    if min(n_t, n_u) < MIN_TREATED_CLUSTERS else None)


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
