"""Difference in differences for policy changes and staggered roll-outs.

Data: long format, one row per unit x period (a panel), with the spec's treatment column the
0/1 "treated in this row" indicator (absorbing: once on, it stays on). Design columns (unit,
period, first treated period, cluster) are estimator options, not spec fields.

- ``did``: the overall effect on the treated.
  * One adoption date (the simple 2 x 2 case and its multi-period version): two-way fixed
    effects (unit and period effects) through :mod:`causal.inference` (clustered at the
    adoption unit; wild cluster bootstrap with few clusters). Assumes parallel trends and no
    anticipation.
  * Staggered adoption (several adoption dates): group-time effects ATT(g, t) of Callaway and
    Sant'Anna (2021) with not-yet-treated (or never-treated) units as the comparison,
    aggregated to one overall ATT (each treated unit-period weighted alike, their "simple"
    aggregation), with influence-function standard errors clustered by unit, or by the
    adoption unit from the influence functions' cluster sums (:mod:`causal.estimators.did_cs`;
    wild cluster multiplier bootstrap with few clusters). Two-way fixed effects is biased here once effects change over time, because
    it uses already-treated units as controls (Goodman-Bacon 2021; de Chaisemartin and
    D'Haultfoeuille 2020); its number is kept as a diagnostic only.
    Built on the ``differences`` package (ATTgt; a maintained Python port of the authors' R
    ``did``), which we checked against twins with known effects in tests/test_did.py.
- ``event_study``: effects by event time (periods since adoption), with the PRE-treatment
  estimates that test parallel trends, as a figure. Staggered: the Callaway-Sant'Anna dynamic
  aggregation; one adoption date: two-way fixed effects with a dummy per event time
  (reference: the period before adoption). Its headline number is the average of the
  post-treatment event-time effects (truth key ``ATT_dynamic``), with the same interval rule
  as ``did`` (the average is made one coefficient by reparametrisation).
- ``triple_difference``: for a threshold change (age band x eligible group x after), the
  triple interaction of a saturated OLS regression with cluster-robust standard errors; with a
  ``period`` option also the triple difference by period (an event-study check of pre-trends).
  Assumes the band gap in the group gap would have moved in parallel without the change.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from causal.errors import DataError, EstimationError, NotIdentified
from causal.estimators import estimator
from causal.estimators.did_cs import CSFit, callaway_santanna, cs_inference, event_table
from causal.estimators.did_cs import draws as cs_draws
from causal.inference import (
    FEW_CLUSTERS,
    MIN_TREATED_CLUSTERS,
    InferenceOptions,
    cluster_column,
    coefficient,
    for_study,
    too_few_groups,
)
from causal.result import Estimate

DESIGNS = ("staggered", "policy_change")


class DiDOptions(InferenceOptions):
    unit: str = Field("person_id", description="Column identifying the panel unit (person, "
                      "programme).")
    period: str = Field("period", description="Column of the period (year, quarter).")
    first_treated: str | None = Field(
        None, description="Column with each unit's first treated period (empty: never); "
        "default: the first period its treatment column is 1.")
    method: Literal["auto", "twfe", "callaway_santanna"] = Field(
        "auto", description="auto: two-way fixed effects with one adoption date, Callaway-"
        "Sant'Anna (2021) with several.")
    control_group: Literal["not_yet_treated", "never_treated"] = Field(
        "not_yet_treated", description="Comparison units: those not yet treated in the period "
        "(later adopters too) or only those never treated.")
    anticipation: int = Field(
        0, ge=0, le=20, description="Periods before adoption in which units may already react "
        "(announcement effects): those unit-periods are left out and the comparison uses "
        "periods before them.")
    bootstrap: int = Field(0, ge=0, le=99_999, description="Wild cluster multiplier-bootstrap "
                           "draws for Callaway-Sant'Anna intervals (0: analytic; with fewer "
                           "than 30 clusters wild_draws are used).")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")


class DDDOptions(InferenceOptions):
    band: str = Field(description="0/1 column: in the age band the change concerns.")
    group: str = Field(description="0/1 column: in the group the change applies to.")
    post: str = Field(description="0/1 column: after the change.")
    period: str | None = Field(None, description="Column of the period, for the triple "
                               "difference by period (a pre-trend check).")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")


# --------------------------------------------------------------------------------------
# The panel: periods as integers, first treated period per unit
# --------------------------------------------------------------------------------------
@dataclass
class Panel:
    unit: np.ndarray          # unit codes 0..N-1 per row
    t: np.ndarray             # period index 1..T per row
    g: np.ndarray             # first treated period index per row (0 = never)
    y: np.ndarray             # outcome on the reporting scale
    d: np.ndarray             # treated in this row
    labels: list              # period labels by index-1
    cluster: np.ndarray       # cluster codes per row
    n_units: int
    cluster_name: str = "unit"  # what the clusters are

    def subset(self, keep: np.ndarray) -> "Panel":
        """The panel restricted to the rows ``keep``."""
        return Panel(unit=self.unit[keep], t=self.t[keep], g=self.g[keep], y=self.y[keep],
                     d=self.d[keep], labels=self.labels, cluster=self.cluster[keep],
                     n_units=self.n_units, cluster_name=self.cluster_name)

    @property
    def cohorts(self) -> list[int]:
        return sorted(set(np.unique(self.g[self.g > 0]).tolist()))

    @property
    def has_never(self) -> bool:
        return bool((self.g == 0).any())


def _need(study, col: str, option: str, est: str) -> None:
    if col not in study.data.columns:
        raise DataError(study.source, f"the {est} estimator's option '{option}' names this "
                        f"column, but the data do not have it (columns: "
                        f"{', '.join(map(str, study.data.columns[:25]))})", column=col)


def _clusters(study, col: str, est: str) -> np.ndarray:
    """Cluster codes from column ``col``; cluster-robust errors need at least two clusters
    (and are unreliable with few: Cameron, Gelbach and Miller 2008)."""
    _need(study, col, "cluster", est)
    codes = pd.factorize(study.data[col], sort=True)[0]
    k = len(np.unique(codes))
    if k < 2:
        raise EstimationError(f"the {est} estimator clusters its standard errors by '{col}', "
                              f"but the data have only {k} value of it; cluster-robust errors "
                              "need many clusters: drop the option 'cluster' or cluster by a "
                              "finer column")
    return codes


def _period_codes(values: pd.Series, order: list) -> np.ndarray:
    """1-based position of each value in ``order`` (0 if absent); vectorised, no per-row
    Python objects (panels reach tens of millions of rows)."""
    return pd.Categorical(values, categories=order).codes.astype(np.int64) + 1


def build_panel(study, o: DiDOptions, est: str) -> Panel:
    df = study.data
    for col, opt in ((o.unit, "unit"), (o.period, "period")):
        _need(study, col, opt, est)
    if df[o.period].isna().any():
        raise DataError(study.source, f"{int(df[o.period].isna().sum())} rows have no period",
                        column=o.period)
    order = sorted(pd.unique(df[o.period]).tolist())
    t = _period_codes(df[o.period], order)
    ucodes, uniq = pd.factorize(df[o.unit], sort=True)
    if pd.Series(ucodes.astype(np.int64) * (len(order) + 1) + t).duplicated().any():
        raise DataError(study.source, f"some unit appears twice in one period; the {est} "
                        f"estimator needs one row per unit ('{o.unit}') and period "
                        f"('{o.period}')", column=o.unit)
    d = study.d()
    # first treated period: from the option's column, else the first treated row per unit
    if o.first_treated:
        _need(study, o.first_treated, "first_treated", est)
        ft = df[o.first_treated]
        known = ft.notna() & ~ft.isin(order)
        if known.any():
            raise DataError(study.source, f"first-treated value {ft[known].iloc[0]!r} is not "
                            f"one of the periods in '{o.period}'", column=o.first_treated)
        g = np.where(ft.notna(), _period_codes(ft.fillna(order[0]), order), 0)
    else:
        tt = np.where(d == 1, t, 10**9)
        first = pd.Series(tt).groupby(ucodes).transform("min").to_numpy()
        g = np.where(first < 10**9, first, 0)
    expected = ((g > 0) & (t >= g)).astype(float)
    bad = expected != d
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"treatment column '{study.treatment}' is not an absorbing adoption: unit "
            f"{df[o.unit].iloc[i]!r} in period {df[o.period].iloc[i]!r} has treatment "
            f"{int(d[i])} but its first treated period says {int(expected[i])} "
            f"({int(bad.sum())} rows disagree); difference in differences here needs "
            "treatment that stays on once it starts")
    col = cluster_column(study, o.cluster)
    if col:  # the adoption unit the spec declares (treatment.assigned_by), or the option
        cl = _clusters(study, col, est)
        name = col
    else:
        cl, name = ucodes, f"{o.unit} (unit)"
    return Panel(unit=ucodes, t=t, g=g.astype(int), y=study.y(), d=d, labels=order,
                 cluster=cl, n_units=len(uniq), cluster_name=name)


def without_anticipation(P: Panel, periods: int) -> Panel:
    """Drop the unit-periods in the anticipation window [g - periods, g - 1] of each treated
    unit: under anticipation they are neither untreated nor treated (Callaway and Sant'Anna
    2021, assumption 3)."""
    if periods <= 0:
        return P
    window = (P.g > 0) & (P.t >= P.g - periods) & (P.t < P.g)
    return P.subset(~window)


def cluster_counts(P: Panel, control: str) -> tuple[int, int, int]:
    """Clusters in all, clusters with a treated unit, clusters with a comparison row
    (never treated; with not-yet-treated comparisons also a unit not yet treated in a period
    when another is)."""
    G = int(P.cluster.max()) + 1
    treated = np.bincount(P.cluster, weights=(P.g > 0), minlength=G) > 0
    first = P.t[P.d == 1].min() if (P.d == 1).any() else P.t.max() + 1
    comp = (P.g == 0) if control == "never_treated" else (P.d == 0) & (P.t >= first)
    untreated = np.bincount(P.cluster, weights=comp, minlength=G) > 0
    return int(np.unique(P.cluster).size), int(treated.sum()), int(untreated.sum())


def few_cluster_rule(P: Panel, o: DiDOptions) -> tuple[bool, list[str], dict]:
    """For the influence-function (Callaway-Sant'Anna) and event-study intervals: whether an
    interval can be given at this number of clusters, the warnings, and the counts."""
    G, n_t, n_u = cluster_counts(P, o.control_group)
    diag = {"cluster": P.cluster_name, "n_clusters": G, "treated_clusters": n_t,
            "untreated_clusters": n_u}
    if min(n_t, n_u) < MIN_TREATED_CLUSTERS:
        warn, what = too_few_groups(n_t, n_u, P.cluster_name)
        diag["no_interval"] = what
        return False, [warn], diag
    warns = []
    if G < FEW_CLUSTERS and not o.bootstrap and not o.wild_draws:
        warns.append(f"only {G} clusters of '{P.cluster_name}': cluster-robust intervals "
                     "tend to be too narrow with fewer than 30 (Cameron, Gelbach and Miller "
                     "2008)")
    return True, warns, diag


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


def _identified_cells(P: Panel, control: str) -> np.ndarray:
    """Treated rows for which a comparison unit exists in that period."""
    treated = P.d == 1
    if control == "never_treated":
        ok_t = np.full(P.t.max() + 1, P.has_never)
    else:
        ok_t = np.zeros(P.t.max() + 1, dtype=bool)
        untreated_t = np.unique(P.t[P.d == 0])
        ok_t[untreated_t] = True
    return treated & ok_t[P.t]


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


def _cs_headline(fit: CSFit, key: str, P: Panel, o: DiDOptions, ok: bool, cdiag: dict):
    """Estimate, interval, SE and its name of a Callaway-Sant'Anna aggregate; no interval
    (the analytic one kept in the diagnostics) when too few groups are treated."""
    inf = cs_inference(fit, key, o, cs_draws(P, o))
    cdiag.update({k: v for k, v in inf.diagnostics.items() if k not in ("n", "cluster")})
    if not ok:
        cdiag.update({"analytic_ci": list(inf.ci), "analytic_se": inf.se})
        return inf.coef, None, None, cdiag["no_interval"]
    return inf.coef, inf.ci, inf.se, inf.se_type


# --------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------
def _staggered(P: Panel, o: DiDOptions) -> bool:
    if o.method == "twfe":
        return False
    if o.method == "callaway_santanna":
        return True
    first_t = 1
    return len([g for g in P.cohorts if g > first_t]) > 1


def _common(study, P: Panel, o: DiDOptions) -> tuple[dict, list[str]]:
    """Gross on the identified treated rows, person counts, warnings."""
    if o.inference == "randomization" and _staggered(P, o):
        raise EstimationError("inference: randomization is available for one adoption date "
                              "(two-way fixed effects did); with staggered adoption use "
                              "the default inference")
    warn: list[str] = []
    always = np.unique(P.unit[(P.g == 1)])
    if always.size:
        warn.append(f"{always.size} units are treated from the first period on; without a "
                    "pre-period they cannot contribute and are left out")
    cells = _identified_cells(P, o.control_group)
    if not cells.any():
        raise NotIdentified(
            "no treated unit-period has a comparison: every unit is treated by the time "
            "anyone is" + (" and there are no never-treated units" if not P.has_never else ""))
    late = (P.d == 1) & ~cells
    if late.any():
        warn.append(f"{int(late.sum())} treated rows fall in periods when no unit is "
                    "untreated; they have no comparison and are not in the estimate")
    treated_units = np.unique(P.unit[cells])
    if o.control_group == "never_treated":
        ctrl = np.unique(P.unit[P.g == 0])
    else:  # units untreated in some period in which others are treated (later adopters too)
        ctrl = np.unique(P.unit[(P.g == 0) | (P.g > P.t[cells].min())])
    kw = dict(gross=float(P.y[cells].mean()), n_treated=int(treated_units.size),
              n_control=int(ctrl.size))
    return kw, warn


@estimator("did", DiDOptions, assignments=DESIGNS)
def did(study, options: DiDOptions) -> list[Estimate]:
    """Overall ATT: TWFE (one adoption date) or Callaway-Sant'Anna (staggered adoption)."""
    o = options
    P = build_panel(study, o, "did")
    kw, warn = _common(study, P, o)
    diag: dict = {"periods": len(P.labels), "units": P.n_units,
                  "adoption_periods": [str(P.labels[g - 1]) for g in P.cohorts],
                  "never_treated_units": int(np.unique(P.unit[P.g == 0]).size),
                  "anticipation_periods": o.anticipation, "comparison": o.control_group}
    Pa = without_anticipation(P, o.anticipation)
    figures = {}
    antic = ("no anticipation" if not o.anticipation else
             f"no anticipation earlier than {o.anticipation} period(s) before adoption "
             "(those periods left out)")
    if _staggered(P, o):
        tw = twfe(Pa)
        b_tw = float(tw.params["treated"])
        diag["twfe"] = {"estimate": b_tw, "se": float(tw.std_errors["treated"])}
        ok, cw, cdiag = few_cluster_rule(P, o)
        fit = callaway_santanna(P, o)
        net, ci, se, se_type = _cs_headline(fit, "simple", P, o, ok, cdiag)
        ev = event_table(fit, o)
        diag["inference"] = cdiag
        warn += cw
        method = (f"Callaway and Sant'Anna (2021) group-time effects with "
                  f"{o.control_group.replace('_', '-')} units as the comparison, aggregated over "
                  f"all treated unit-periods; standard errors: {se_type}. Assumes parallel "
                  f"trends and {antic}.")
        if se is not None and abs(b_tw - net) > 2 * se:
            warn.append(f"plain two-way fixed effects gives {b_tw:.2f}, far from this estimate: "
                        "with staggered adoption and effects that change over time it compares "
                        "later- with earlier-treated units and is biased; it is not used")
        diag.update(_pretrend(ev, o.alpha))
        ev = _with_event_counts(ev, P)
        figures["event_study"] = _event_figure(ev, study, "Callaway-Sant'Anna event study")
        if diag.get("pretrend_flag"):
            warn.append(diag["pretrend_flag"])
        n_cl = cdiag["n_clusters"]
        est = study.estimate("did", "ATT", net, ci, se, label="difference in differences",
                             method=method, diagnostics=diag, warnings=warn, figures=figures,
                             se_type=se_type, n_clusters=n_cl, **kw)
        return [est]
    if len(P.cohorts) == 1 and not P.has_never:
        raise NotIdentified("all units adopt in the same period and none stays untreated: "
                            "there is no comparison group for a difference in differences")
    inf = twfe_inference(Pa, o)
    method = ("Two-way fixed effects (unit and period effects; unit effects projected out, "
              f"period dummies as regressors); standard error: {inf.se_type}. Assumes "
              f"parallel trends and {antic}; with a single adoption date this is the ATT.")
    return [inf.attach(study.estimate(
        "did", "ATT", inf.coef, **inf.fields(), label="difference in differences",
        method=method, diagnostics=diag, warnings=warn, figures=figures, **kw))]


@estimator("event_study", DiDOptions, assignments=DESIGNS)
def event_study(study, options: DiDOptions) -> list[Estimate]:
    """Effects by event time with pre-trend estimates, and their average after adoption."""
    o = options
    P = build_panel(study, o, "event_study")
    kw, warn = _common(study, P, o)
    ok, cw, cdiag = few_cluster_rule(P, o)
    inf = None
    if _staggered(P, o):
        warn += cw
        fit = callaway_santanna(P, o)
        net, ci, se, se_type = _cs_headline(fit, "dynamic", P, o, ok, cdiag)
        ev = event_table(fit, o)
        method = ("Callaway and Sant'Anna (2021) dynamic aggregation: ATT by periods since "
                  f"adoption ({o.control_group.replace('_', '-')} comparison, varying base "
                  "period for the pre-trend estimates"
                  + (f", {o.anticipation} anticipation period(s)" if o.anticipation else "")
                  + "); headline = average of the post-adoption event-time effects; "
                  f"standard errors: {se_type}.")
    else:
        if not P.has_never:
            raise NotIdentified("all units adopt in the same period and none stays untreated: "
                                "there is no comparison group for an event study")
        ev = _twfe_event(P, o.anticipation)
        inf = twfe_inference(P, o, _event_average_design(P, o.anticipation))
        net, ci, se, se_type = inf.coef, inf.ci, inf.se, inf.se_type
        cdiag.update(inf.diagnostics)
        method = ("Two-way fixed effects event study with a dummy per event time, reference = "
                  "the period before adoption"
                  + (f" less {o.anticipation} anticipation period(s)" if o.anticipation else "")
                  + "; headline = average of the post-adoption coefficients (a coefficient of "
                  f"its own by reparametrisation), standard error {se_type}; event-time "
                  f"errors CR0 clustered by {P.cluster_name} (linearmodels).")
    ev = _with_event_counts(ev, P)
    diag = {"event_time": ev[["ATT", "std_error", "n_treated"]].rename_axis("event_time"),
            "inference": cdiag, **_pretrend(ev[ev.index < -o.anticipation]
                                            if o.anticipation else ev, o.alpha)}
    if diag.get("pretrend_flag"):
        warn.append(diag["pretrend_flag"])
    fig = _event_figure(ev, study, "event study")
    est = study.estimate("event_study", "ATT", net, ci, se,
                         label="event-time average", truth_key="ATT_dynamic", method=method,
                         diagnostics=diag, warnings=warn, figures={"event_study": fig},
                         se_type=se_type, n_clusters=cdiag["n_clusters"], **kw)
    return [inf.attach(est) if inf is not None else est]


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


def _pretrend(ev: pd.DataFrame, alpha: float) -> dict:
    """Pre-adoption estimates: are any of them off zero (Bonferroni over the pre-periods)?"""
    pre = ev[(ev.index < 0) & (ev["std_error"] > 0)]
    if pre.empty:
        return {"pretrend_periods": 0}
    t = (pre["ATT"] / pre["std_error"]).to_numpy()
    k = len(t)
    crit = float(stats.norm.ppf(1 - alpha / (2 * k)))
    out = {"pretrend_periods": k, "pretrend_max_abs_t": float(np.abs(t).max()),
           "pretrend_critical_value": crit}
    if np.abs(t).max() > crit:
        out["pretrend_flag"] = (f"pre-treatment estimates depart from zero (max |t| = "
                                f"{np.abs(t).max():.1f} over {k} pre-periods, Bonferroni "
                                f"critical value {crit:.1f}): parallel trends is in doubt")
    return out


def _with_event_counts(ev: pd.DataFrame, P: Panel) -> pd.DataFrame:
    """Add ``n_treated``: the treated units observed at each event time (the persons each
    event-time effect rests on; the output gate drops event times under min_cell)."""
    tr = P.g > 0
    e = P.t[tr] - P.g[tr]
    n = pd.Series(P.unit[tr]).groupby(e).nunique()
    out = ev.copy()
    out["n_treated"] = [int(n.get(int(k), 0)) for k in out.index]
    return out


def _event_figure(ev: pd.DataFrame, study, title: str):
    recs = [{"event_time": int(k), "ATT": float(r["ATT"]), "std_error": float(r["std_error"]),
             "n_treated": int(r["n_treated"])} for k, r in ev.iterrows()]
    truth = {int(key[5:]): v for key, v in study.truth.items() if key.startswith("ATT_e")}
    unit = study.unit
    measure = study.measure

    def draw(recs):
        from matplotlib.figure import Figure

        k = np.array([r["event_time"] for r in recs], dtype=float)
        b = np.array([r["ATT"] for r in recs], dtype=float)
        se = np.array([r["std_error"] for r in recs], dtype=float)

        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        pre = k < 0
        for mask, colour, lab in ((pre, "tab:grey", "before adoption (pre-trend)"),
                                  (~pre, "tab:blue", "after adoption")):
            ax.errorbar(k[mask], b[mask], yerr=1.96 * se[mask], fmt="o", color=colour,
                        capsize=3, label=lab)
        if truth:
            tk = np.array(sorted(truth))
            ax.plot(tk, [truth[i] for i in tk], "x", color="tab:red", label="true effect (twin)")
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(-0.5, color="black", lw=0.8, ls=":")
        ax.set_xlabel("periods since adoption")
        ax.set_ylabel(f"effect ({unit})")
        ax.set_title(f"{measure}: {title}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    from causal.report.gate_figures import GatedFigure

    return GatedFigure(recs, draw, what="effect per event time with its 95% interval; event "
                       "times reached by fewer than min_cell treated units are left out")


# --------------------------------------------------------------------------------------
# Triple difference
# --------------------------------------------------------------------------------------
@estimator("triple_difference", DDDOptions, assignments=("policy_change", "threshold"))
def triple_difference(study, options: DDDOptions) -> list[Estimate]:
    """Band x group x after interaction of a saturated OLS, cluster-robust errors."""

    o = options
    df = study.data
    cols = {}
    for opt in ("band", "group", "post"):
        col = getattr(o, opt)
        _need(study, col, opt, "triple_difference")
        v = df[col]
        if not pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            raise DataError(study.source, f"option '{opt}' of triple_difference needs a 0/1 "
                            "column", column=col)
        v = v.astype(float).to_numpy()
        if not set(np.unique(v)) <= {0.0, 1.0}:
            raise DataError(study.source, f"option '{opt}' of triple_difference needs a 0/1 "
                            f"column, found values {sorted(np.unique(v))[:5]}", column=col)
        cols[opt] = v
    A, G, T = cols["band"], cols["group"], cols["post"]
    y, d = study.y(), study.d()
    cells = pd.crosstab([A, G], T)
    if cells.shape != (4, 2) or (cells.to_numpy() == 0).any():
        raise NotIdentified("a triple difference needs data in all 8 cells of band x group x "
                            f"after; found {int((cells.to_numpy() > 0).sum())} filled cells")
    warn = []
    mism = int(((A * G * T) != d).sum())
    if mism:
        warn.append(f"{mism} rows have a treatment value that differs from band x group x "
                    "after; the estimate is for the band x group x after cell")
    X = np.column_stack([np.ones_like(y), A, G, T, A * G, A * T, G * T, A * G * T])
    tr = (A * G * T) == 1
    inf = for_study(study, o, "triple_difference", y, X, 7, default="HC1",
                    treated=tr.astype(float), alpha=o.alpha)
    b, how = inf.coef, inf.se_type
    # one record per band x group x after cell, with its persons (the gate hides small ones)
    cell_recs = [{"cell": f"band{a}_group{g}_post{t}", "n": int(m.sum()),
                  "mean": float(y[m].mean())}
                 for a in (0, 1) for g in (0, 1) for t in (0, 1)
                 for m in [(A == a) & (G == g) & (T == t)]]
    diag = {"cells": cell_recs,
            # a saturated model's coefficient is a sum of cell means: it rests on the smallest
            "_gate": {"counts": {"n_smallest_cell": min(r["n"] for r in cell_recs)}}}
    figures = {}
    if o.period:
        _need(study, o.period, "period", "triple_difference")
        ev = _ddd_by_period(study, o, A, G, T, y)
        diag["by_period"] = ev
        diag.update(_pretrend(ev.set_index("rel", drop=True), o.alpha))
        if diag.get("pretrend_flag"):
            warn.append(diag["pretrend_flag"])
        figures["event_study"] = _ddd_figure(ev, study)
    return [inf.attach(study.estimate(
        "triple_difference", "ATT", b, **inf.fields(),
        label="triple difference", method=(
            "Triple difference (band x eligible group x after) from a saturated OLS regression "
            f"of the outcome on all interactions; standard errors {how}. Assumes that without "
            "the change the band-vs-rest gap in the eligible group would have moved like the "
            "same gap in the ineligible group."),
        gross=float(y[tr].mean()), n_treated=int(tr.sum()), n_control=int((~tr).sum()),
        diagnostics=diag, warnings=warn, figures=figures))]


def _ddd_by_period(study, o: DDDOptions, A, G, T, y):
    import statsmodels.api as sm

    per = study.data[o.period]
    order = sorted(pd.unique(per).tolist())
    pre = [p for p in order if T[(per == p).to_numpy()].mean() < 0.5]
    if not pre:
        raise NotIdentified("no period before the change; the triple difference needs one")
    ref = pre[-1]
    others = [p for p in order if p != ref]
    D = np.column_stack([(per == p).to_numpy(float) for p in others])
    AG = A * G
    X = np.column_stack([np.ones_like(y), A, G, AG, D, D * A[:, None], D * G[:, None],
                         D * AG[:, None]])
    kcols = slice(X.shape[1] - len(others), X.shape[1])
    col = cluster_column(study, o.cluster)
    if col:
        groups = _clusters(study, col, "triple_difference")
        fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
    else:
        fit = sm.OLS(y, X).fit(cov_type="HC1")
    b = np.asarray(fit.params)[kcols]
    se = np.asarray(fit.bse)[kcols]
    # event time: the last period before the change is -1, the first after it 0
    rel = {q: i - len(pre) for i, q in enumerate(order)}
    pv = per.to_numpy()

    def smallest(q) -> int:  # the smallest band x group cell of a period: what it rests on
        return int(min(((A == a) & (G == g) & (pv == q)).sum() for a in (0, 1) for g in (0, 1)))

    n_ref = smallest(ref)
    rows = [{"period": str(q), "rel": rel[q], "ATT": float(bb), "std_error": float(s),
             "n": min(smallest(q), n_ref)} for q, bb, s in zip(others, b, se)]
    rows.append({"period": str(ref), "rel": -1, "ATT": 0.0, "std_error": 0.0, "n": n_ref})
    ev = pd.DataFrame(rows).sort_values("rel").reset_index(drop=True)
    return ev


def _ddd_figure(ev: pd.DataFrame, study):
    recs = [{"period": str(r["period"]), "rel": int(r["rel"]), "ATT": float(r["ATT"]),
             "std_error": float(r["std_error"]), "n": int(r["n"])} for _, r in ev.iterrows()]
    unit, measure = study.unit, study.measure

    def draw(recs):
        from matplotlib.figure import Figure

        k = np.array([r["rel"] for r in recs], float)
        b = np.array([r["ATT"] for r in recs], float)
        se = np.array([r["std_error"] for r in recs], float)
        labels = [r["period"] for r in recs]
        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        pre = k < 0
        ax.errorbar(k[pre], b[pre], yerr=1.96 * se[pre], fmt="o", color="tab:grey", capsize=3,
                    label="before the change (pre-trend)")
        ax.errorbar(k[~pre], b[~pre], yerr=1.96 * se[~pre], fmt="o", color="tab:blue",
                    capsize=3, label="after the change")
        ax.set_xticks(k, labels)
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(-0.5, color="black", lw=0.8, ls=":")
        ax.set_ylabel(f"triple difference ({unit})")
        ax.set_title(f"{measure}: triple difference by period")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    from causal.report.gate_figures import GatedFigure

    return GatedFigure(recs, draw, what="triple difference per period with its 95% interval; "
                       "n = the smallest band x group cell of the period and the reference "
                       "period; periods under min_cell are left out")
