"""Two-way fixed effects for difference in differences with one adoption date: the
coefficient through :mod:`causal.inference` (every SE flavour, the wild cluster bootstrap with
few clusters, randomisation inference over the treated clusters), the event-time dummies and
the reparametrisation that makes the event study's headline one coefficient; linearmodels
``PanelOLS`` for the event-time table and the TWFE diagnostic beside Callaway-Sant'Anna.
Split from :mod:`causal.estimators.did`."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.did_panel import DiDOptions, Panel
from causal.inference import coefficient


def twfe_inference(P: Panel, o: DiDOptions, design: np.ndarray | None = None):
    """The two-way fixed-effects coefficient through :mod:`causal.inference`: unit effects
    projected out (Frisch-Waugh-Lovell; units are nested in the clusters), period dummies
    kept as regressors, so every flavour, the Bell-McCaffrey dof and the wild cluster
    bootstrap with few clusters apply as in any OLS. The small-sample factor counts the
    period dummies and the absorbed intercept, as pyfixest does for fixed effects nested in
    the clusters. ``design``: columns replacing the treatment indicator (the first one is the
    coefficient reported; the event study's reparametrised event dummies)."""
    if o.se in ("HC2", "HC3"):
        raise EstimationError(f"se: {o.se} needs the full model's leverages, which fixed "
                              "effects absorb; use CR1, CR2, HC1 or classical")
    n_u = int(P.unit.max()) + 1
    cnt = np.bincount(P.unit, minlength=n_u)
    T = int(P.t.max())

    def demean(v: np.ndarray) -> np.ndarray:
        return v - (np.bincount(P.unit, weights=v, minlength=n_u) / np.maximum(cnt, 1))[P.unit]

    lead = [P.d] if design is None else list(design.T)
    cols = [demean(c) for c in lead] + [demean((P.t == k).astype(float))
                                        for k in range(2, T + 1) if (P.t == k).any()]
    X = np.column_stack(cols)
    person = o.se in ("classical", "HC0", "HC1")
    cl = None if person else P.cluster
    first = P.t[P.d == 1].min() if (P.d == 1).any() else T + 1
    comp = (P.g == 0) if o.control_group == "never_treated" else (P.d == 0) & (P.t >= first)
    design_of = None
    if design is None and len(P.cohorts) == 1:  # randomisation over the treated clusters
        post = (P.t >= P.cohorts[0]).astype(float)

        def design_of(pi: np.ndarray) -> np.ndarray:
            Xp = X.copy()
            Xp[:, 0] = demean(pi[P.cluster] * post)
            return Xp
    return coefficient(demean(P.y), X, 0, se=o.se, default="CR1", clusters=cl,
                       cluster_name=None if person else P.cluster_name,
                       treated=(P.g > 0).astype(float), comparison=comp.astype(float),
                       alpha=o.alpha, wild_draws=o.wild_draws, seed=o.seed,
                       k_absorbed=(n_u if person else 1), inference=o.inference,
                       design_of=design_of)


# --------------------------------------------------------------------------------------
# Two-way fixed effects (PanelOLS)
# --------------------------------------------------------------------------------------
def twfe(P: Panel, extra: np.ndarray | None = None, names: list[str] | None = None):
    """Unit and period fixed effects, clustered SEs; returns the linearmodels result."""
    from linearmodels.panel import PanelOLS

    idx = pd.MultiIndex.from_arrays([P.unit, P.t], names=["unit", "t"])
    X = pd.DataFrame({"treated": P.d}, index=idx) if extra is None else \
        pd.DataFrame(extra, index=idx, columns=names)
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


def _twfe_event(P: Panel, anticipation: int = 0) -> pd.DataFrame:
    """Event-time coefficients (linearmodels PanelOLS), reference event time at 0."""
    e, ks, ref = _event_times(P, anticipation)
    X = np.column_stack([(e == k).astype(float) for k in ks])
    names = [f"e{k}" for k in ks]
    res = twfe(P, X, names)
    b = res.params.reindex(names).to_numpy()
    V = res.cov.reindex(index=names, columns=names).to_numpy()
    ev = pd.DataFrame({"ATT": b, "std_error": np.sqrt(np.diag(V))},
                      index=pd.Index(ks, name="relative_period"))
    ev.loc[ref] = [0.0, 0.0]
    return ev.sort_index()


def _event_average_design(P: Panel, anticipation: int = 0) -> np.ndarray:
    """The event-dummy design reparametrised so that its first coefficient is the average of
    the m post-adoption coefficients: with b_p1 = m theta - sum_{j>1} b_pj, the post columns
    become m D_p1 (theta) and D_pj - D_p1; pre-adoption dummies unchanged. The same fit, so
    the layer's flavours and the wild cluster bootstrap apply to theta as to any coefficient."""
    e, ks, _ = _event_times(P, anticipation)
    post = [k for k in ks if k >= 0]
    D1 = (e == post[0]).astype(float)
    cols = [len(post) * D1] + [(e == k).astype(float) - D1 for k in post[1:]]
    cols += [(e == k).astype(float) for k in ks if k < 0]
    return np.column_stack(cols)
