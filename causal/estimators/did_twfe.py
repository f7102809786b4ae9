"""Two-way fixed effects for difference in differences with one adoption date: the
coefficient through :mod:`causal.inference` (every SE flavour, the wild cluster bootstrap with
few clusters, randomisation inference over the treated clusters) on the within-transformed
panel (:mod:`~causal.estimators.did_within`), and the event study's event-time dummies and
their average from one fit; the plain TWFE diagnostic beside Callaway-Sant'Anna. Split from
:mod:`causal.estimators.did`."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.did_panel import DiDOptions, Panel
from causal.estimators.did_within import TwoWayWithin
from causal.inference import FEW_CLUSTERS, coefficient, treated_groups


def twfe_inference(P: Panel, o: DiDOptions,
                   design: tuple[int, Iterator[np.ndarray]] | None = None,
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
    array."""
    W = within or TwoWayWithin(P.unit, P.t)
    full = _needs_full_design(P, o)
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
    return _coefficient(P, o, W(P.y), X, (0 if full else W.rank) + W_units(W, o),
                        design_of)


def W_units(W: TwoWayWithin, o: DiDOptions) -> int:
    """Absorbed parameters of the unit effects in the small-sample factors: all of them for
    person-level flavours, the intercept only where units are nested in the clusters."""
    return W.n_units if o.se in ("classical", "HC0", "HC1") else 1


def _comparison(P: Panel, o: DiDOptions) -> tuple[np.ndarray, np.ndarray]:
    """Treated units' rows and comparison rows (to count treated and untreated clusters)."""
    T = int(P.t.max())
    first = P.t[P.d == 1].min() if (P.d == 1).any() else T + 1
    comp = (P.g == 0) if o.control_group == "never_treated" else (P.d == 0) & (P.t >= first)
    return (P.g > 0).astype(float), comp.astype(float)


def _coefficient(P: Panel, o: DiDOptions, y: np.ndarray, X: np.ndarray, k_absorbed: int,
                 design_of=None):
    """Coefficient 0 of the within-transformed regression through the inference layer."""
    if o.se in ("HC2", "HC3"):
        raise EstimationError(f"se: {o.se} needs the full model's leverages, which fixed "
                              "effects absorb; use CR1, CR2, HC1 or classical")
    person = o.se in ("classical", "HC0", "HC1")
    treated, comp = _comparison(P, o)
    return coefficient(y, X, 0, se=o.se, default="CR1", clusters=None if person else P.cluster,
                       cluster_name=None if person else P.cluster_name,
                       treated=treated, comparison=comp, alpha=o.alpha,
                       wild_draws=o.wild_draws, seed=o.seed, k_absorbed=k_absorbed,
                       inference=o.inference, design_of=design_of)


def _needs_full_design(P: Panel, o: DiDOptions) -> bool:
    """CR2 and the resampling intervals need the period dummies in the design."""
    if o.se == "CR2":
        return True
    if o.se in ("classical", "HC0", "HC1"):
        return False
    treated, comp = _comparison(P, o)
    return _bootstrapped(P.cluster, treated, comp, o)


def _bootstrapped(cluster: np.ndarray, treated: np.ndarray, comp: np.ndarray,
                  o: DiDOptions) -> bool:
    """Whether :func:`causal.inference.coefficient` will resample or permute (the wild
    cluster bootstrap below FEW_CLUSTERS clusters with enough treated and untreated ones,
    or randomisation inference): those refit the restricted model on all regressors."""
    if o.inference == "randomization":
        return True
    if int(cluster.max()) + 1 >= FEW_CLUSTERS or o.wild_draws <= 0:
        return False
    return treated_groups(treated, cluster, "cluster", comp)[1] is None


# --------------------------------------------------------------------------------------
# The plain two-way fixed-effects diagnostic and the event study
# --------------------------------------------------------------------------------------
def twfe(P: Panel) -> tuple[float, float]:
    """Plain two-way fixed effects (the diagnostic beside Callaway-Sant'Anna): the
    coefficient of the treatment dummy with unit and period effects and its standard error
    clustered by ``P.cluster``, the cluster sandwich scaled by n / (n - k) with k counting
    every unit and period effect and the slope (what linearmodels' ``PanelOLS(...,
    entity_effects=True, time_effects=True).fit(cov_type="clustered")`` gives: debiased,
    effects counted), from the within transformation of :class:`TwoWayWithin` instead of its
    demeaned copies of the frame."""
    W = TwoWayWithin(P.unit, P.t)
    d = W(P.d.astype(float))
    e = W(P.y.astype(float))
    dd = float(d @ d)
    b = float(d @ e) / dd
    e -= b * d
    score = np.bincount(pd.factorize(P.cluster)[0], weights=d * e)
    n = P.y.size
    k = np.unique(P.unit).size + np.unique(P.t).size  # effects (one absorbed) + the slope
    return b, float(np.sqrt(score @ score * n / (n - k)) / dd)


def _event_times(P: Panel, anticipation: int) -> tuple[np.ndarray, list[int], int]:
    """Event time per row (-10^6 for never-treated units), the event times with a dummy and
    the reference event time (the period before adoption, less anticipation)."""
    ref = -1 - anticipation
    e = np.where(P.g > 0, P.t - P.g, -10**6)
    return e, sorted(int(k) for k in np.unique(e[P.g > 0]) if k != ref), ref


def event_study_twfe(P: Panel, o: DiDOptions):
    """One adoption date: the event-time coefficients (reference: the period before
    adoption, less anticipation) and their post-adoption average theta, from one two-way
    fixed-effects fit.

    The fit streams the event dummies: each is residualised on unit and period effects
    (:class:`~causal.estimators.did_within.TwoWayWithin`) when needed and dropped, so only
    a few vectors of the panel's length are alive, whatever the number of event times. Its
    Gram matrix is a bincount of each residualised dummy by event time (X''X = X''X for
    residualised X''), the residuals are the within transformation of y - X b, and the
    cluster scores bincounts of residualised dummy times residual. The table: b with its
    covariance as linearmodels' ``PanelOLS`` gives it (clustered by the panel's clusters,
    CR0 scaled by n / (n - k) with k counting every unit and period effect).

    The headline theta = w'b (w: 1/m on the m post-adoption event times) goes through
    :mod:`causal.inference` as the coefficient of one regressor: by Frisch-Waugh-Lovell,
    u = X'' A w / (w'A w) (A the inverse Gram matrix) with outcome e + theta u (e the full
    model's residuals) has coefficient theta, the same residuals and the same classical,
    HC0/HC1 and cluster sandwiches (w'V w; the small-sample factors count the other event
    dummies). CR2 and the resampling intervals depend on the whole design: there the
    design reparametrised so that theta is its first coefficient (post columns m D_p1 and
    D_pj - D_p1, pre-adoption dummies unchanged) goes through the layer instead.
    tests/test_did_within.py compares both with linearmodels and the design with every
    dummy. Returns the headline's Inference and the event table."""
    e, ks, ref = _event_times(P, o.anticipation)
    k, n = len(ks), P.y.size
    post = [i for i, kk in enumerate(ks) if kk >= 0]
    arr = np.asarray(ks)
    pos = np.minimum(np.searchsorted(arr, e), k - 1)
    code = np.where(arr[pos] == e, pos, k)      # event-dummy index per row (k: none)
    W = TwoWayWithin(P.unit, P.t)

    def resid_dummy(j: int) -> np.ndarray:
        return W((code == j).astype(float))

    gram, xty = np.empty((k, k)), np.empty(k)
    for j in range(k):
        r = resid_dummy(j)
        gram[j] = np.bincount(code, weights=r, minlength=k + 1)[:k]
        xty[j] = r @ P.y
    gram = (gram + gram.T) / 2
    if np.linalg.matrix_rank(gram) < k:
        raise EstimationError("some event-time dummies are collinear with the unit and "
                              "period effects (an event time observed only where no "
                              "comparison unit is): the event study cannot separate them")
    A = np.linalg.inv(gram)
    b = A @ xty
    resid = W(P.y - np.append(b, 0.0)[code])
    w = np.zeros(k)
    w[post] = 1.0 / len(post)
    a = A @ w
    G = int(P.cluster.max()) + 1
    S = np.empty((G, k))
    u = np.zeros(n)
    for j in range(k):
        r = resid_dummy(j)
        S[:, j] = np.bincount(P.cluster, weights=r * resid, minlength=G)
        u += (a[j] / (w @ a)) * r
    V = A @ (S.T @ S) @ A * n / (n - (W.n_units + W.rank + k))
    ev = pd.DataFrame({"ATT": b, "std_error": np.sqrt(np.diag(V))},
                      index=pd.Index(ks, name="relative_period"))
    ev.loc[ref] = [0.0, 0.0]
    if _needs_full_design(P, o):
        del u, resid
        inf = twfe_inference(P, o, (k, _reparametrised(code, ks)), within=W)
    else:
        theta = float(w @ b)
        inf = _coefficient(P, o, resid + theta * u, u[:, None],
                           W.rank + W_units(W, o) + k - 1)
    return inf, ev.sort_index()


def _reparametrised(code: np.ndarray, ks: list[int]) -> Iterator[np.ndarray]:
    """The event dummies reparametrised so that the first coefficient is the average theta
    of the m post-adoption ones: with b_p1 = m theta - sum_{j>1} b_pj the post columns
    become m D_p1 (theta) and D_pj - D_p1, the pre-adoption dummies unchanged."""
    post = [i for i, kk in enumerate(ks) if kk >= 0]
    D1 = code == post[0]
    yield len(post) * D1.astype(float)
    for j in post[1:]:
        yield (code == j).astype(float) - D1
    for j in (i for i, kk in enumerate(ks) if kk < 0):
        yield (code == j).astype(float)

