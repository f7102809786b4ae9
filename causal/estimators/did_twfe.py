"""Two-way fixed effects for difference in differences with one adoption date: the
coefficient through :mod:`causal.inference` (every SE flavour, the wild cluster bootstrap with
few clusters, randomisation inference over the treated clusters) on the within-transformed
panel (:mod:`~causal.estimators.did_within`), and the event study's event-time dummies and
their average from one fit; linearmodels ``PanelOLS`` for the TWFE diagnostic beside
Callaway-Sant'Anna. Split from :mod:`causal.estimators.did`."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.did_panel import DiDOptions, Panel
from causal.estimators.did_within import TwoWayWithin
from causal.inference import FEW_CLUSTERS, MIN_TREATED_CLUSTERS, OLSFit, coefficient, vcov


def twfe_inference(P: Panel, o: DiDOptions,
                   design: tuple[int, Iterator[np.ndarray]] | None = None,
                   on_fit: Callable[[OLSFit, int], None] | None = None,
                   within: TwoWayWithin | None = None):
    """The two-way fixed-effects coefficient through :mod:`causal.inference`: unit and
    period effects projected out (Frisch-Waugh-Lovell, :mod:`~causal.estimators.did_within`;
    units are nested in the clusters), so every flavour, the Bell-McCaffrey dof and the wild
    cluster bootstrap with few clusters apply as in any OLS. The small-sample factor counts
    the period dummies and the absorbed intercept, as pyfixest does for fixed effects nested
    in the clusters. Where the hat matrix or the bootstrap's restricted fits need the period
    dummies themselves (CR2, the wild cluster bootstrap, randomisation inference: period
    effects are not nested in the clusters) the unit-demeaned dummies stay in the design,
    which then spans the same space as before. ``design``: the number of columns and the
    columns replacing the treatment indicator (the first one is the coefficient reported;
    the event study's reparametrised event dummies), residualised one at a time into one
    array. ``on_fit``: passed to :func:`causal.inference.coefficient`."""
    if o.se in ("HC2", "HC3"):
        raise EstimationError(f"se: {o.se} needs the full model's leverages, which fixed "
                              "effects absorb; use CR1, CR2, HC1 or classical")
    W = within or TwoWayWithin(P.unit, P.t)
    person = o.se in ("classical", "HC0", "HC1")
    cl = None if person else P.cluster
    T = int(P.t.max())
    first = P.t[P.d == 1].min() if (P.d == 1).any() else T + 1
    comp = (P.g == 0) if o.control_group == "never_treated" else (P.d == 0) & (P.t >= first)
    treated = (P.g > 0).astype(float)
    full = o.se == "CR2" or (cl is not None and _bootstrapped(P.cluster, treated, comp, o))
    m, lead = (1, iter([P.d])) if design is None else design
    X = np.empty((P.y.size, m + (len(W.periods) if full else 0)))
    for i, c in enumerate(lead):
        X[:, i] = W(c)
    if full:
        for i, c in enumerate(W.period_columns()):
            X[:, m + i] = c
    design_of = None
    if design is None and len(P.cohorts) == 1:  # randomisation over the treated clusters
        post = (P.t >= P.cohorts[0]).astype(float)

        def design_of(pi: np.ndarray) -> np.ndarray:
            Xp = X.copy()
            Xp[:, 0] = W(pi[P.cluster] * post)
            return Xp
    return coefficient(W(P.y), X, 0, se=o.se, default="CR1", clusters=cl,
                       cluster_name=None if person else P.cluster_name,
                       treated=treated, comparison=comp.astype(float),
                       alpha=o.alpha, wild_draws=o.wild_draws, seed=o.seed,
                       k_absorbed=(W.n_units if person else 1) + (0 if full else W.rank),
                       inference=o.inference, design_of=design_of, on_fit=on_fit)


def _bootstrapped(cluster: np.ndarray, treated: np.ndarray, comp: np.ndarray,
                  o: DiDOptions) -> bool:
    """Whether :func:`causal.inference.coefficient` will resample or permute (the wild
    cluster bootstrap below FEW_CLUSTERS clusters with enough treated and untreated ones,
    or randomisation inference): those refit the restricted model on all regressors."""
    if o.inference == "randomization":
        return True
    G = int(cluster.max()) + 1
    if G >= FEW_CLUSTERS or o.wild_draws <= 0:
        return False
    n_t = int((np.bincount(cluster, weights=treated, minlength=G) > 0).sum())
    n_u = int((np.bincount(cluster, weights=comp, minlength=G) > 0).sum())
    return min(n_t, n_u) >= MIN_TREATED_CLUSTERS


# --------------------------------------------------------------------------------------
# Two-way fixed effects (PanelOLS)
# --------------------------------------------------------------------------------------
def twfe(P: Panel):
    """Unit and period fixed effects, clustered SEs; returns the linearmodels result (the
    diagnostic beside Callaway-Sant'Anna)."""
    from linearmodels.panel import PanelOLS

    idx = pd.MultiIndex.from_arrays([P.unit, P.t], names=["unit", "t"])
    X = pd.DataFrame({"treated": P.d}, index=idx)
    y = pd.Series(P.y, index=idx, name="y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = PanelOLS(y, X, entity_effects=True, time_effects=True, drop_absorbed=True,
                       check_rank=False)
        return mod.fit(cov_type="clustered", clusters=pd.DataFrame({"c": P.cluster}, index=idx))


def _event_times(P: Panel, anticipation: int) -> tuple[np.ndarray, list[int], int]:
    """Event time per row (-10^6 for never-treated units), the event times with a dummy and
    the reference event time (the period before adoption, less anticipation)."""
    ref = -1 - anticipation
    e = np.where(P.g > 0, P.t - P.g, -10**6)
    return e, sorted(int(k) for k in np.unique(e[P.g > 0]) if k != ref), ref


def event_study_twfe(P: Panel, o: DiDOptions):
    """One adoption date: the event-time coefficients (reference: the period before
    adoption, less anticipation) and their post-adoption average, from ONE two-way
    fixed-effects fit through :mod:`causal.inference`.

    The design is reparametrised so that its first coefficient is the average theta of the
    m post-adoption coefficients: with b_p1 = m theta - sum_{j>1} b_pj the post columns
    become m D_p1 (theta) and D_pj - D_p1, the pre-adoption dummies unchanged; every
    flavour, the wild cluster bootstrap and the few-cluster rules apply to theta as to any
    coefficient. The event-time coefficients are the linear map b = M c of the same fit's
    coefficients c, their covariance M V M' (a sandwich is equivariant under a
    reparametrisation), reported as linearmodels' ``PanelOLS`` gives them (clustered by the
    panel's clusters, CR0 scaled by n / (n - k) with k counting every unit and period
    effect; tests/test_did_inference.py compares both to the packages). Returns the
    headline's Inference and the event table."""
    e, ks, ref = _event_times(P, o.anticipation)
    post, pre = [k for k in ks if k >= 0], [k for k in ks if k < 0]
    m = len(post)

    def columns() -> Iterator[np.ndarray]:
        D1 = (e == post[0])
        yield m * D1.astype(float)
        for k in post[1:]:
            yield (e == k).astype(float) - D1
        for k in pre:
            yield (e == k).astype(float)

    M = np.eye(len(ks))
    M[0, :m] = -1.0
    M[0, 0] = m
    table: dict = {}

    def read(fit: OLSFit, n_dropped: int) -> None:
        if n_dropped:
            raise EstimationError("some event-time dummies are collinear with the unit and "
                                  "period effects (an event time observed only where no "
                                  "comparison unit is): the event study cannot separate them")
        G, n, k = int(P.cluster.max()) + 1, fit.n, len(ks)
        cr1 = G / (G - 1) * (n - 1) / (n - fit.k)
        lm = n / (n - (W.n_units + W.rank + k))
        V = vcov(fit, "CR1", P.cluster)[:k, :k] / cr1 * lm
        table["b"], table["V"] = M @ fit.beta[:k], M @ V @ M.T

    W = TwoWayWithin(P.unit, P.t)
    inf = twfe_inference(P, o, (len(ks), columns()), on_fit=read, within=W)
    order = post + pre
    ev = pd.DataFrame({"ATT": table["b"], "std_error": np.sqrt(np.diag(table["V"]))},
                      index=pd.Index(order, name="relative_period"))
    ev.loc[ref] = [0.0, 0.0]
    return inf, ev.sort_index()

