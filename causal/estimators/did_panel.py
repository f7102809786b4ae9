"""Difference in differences: the options and the panel every DiD estimator works on (unit
and period codes, first treated period per unit, cluster codes), the anticipation window,
the few-cluster rule and the pre-trend test. Split from :mod:`causal.estimators.did`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from causal.errors import DataError, EstimationError
from causal.inference import (
    FEW_CLUSTERS,
    MIN_TREATED_CLUSTERS,
    InferenceOptions,
    cluster_column,
    too_few_groups,
)

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
    by_cohort: bool = Field(
        False, description="did with staggered adoption: also the effect of each start "
        "cohort, ATT(g) (Callaway and Sant'Anna 2021's group aggregation), and each later "
        "cohort's difference from the first: whether the effect depends on when the measure "
        "started, in a downturn or a boom (seed notes 003 P11).")


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


def pretrend(ev: pd.DataFrame, alpha: float, testable: bool = True) -> dict:
    """Pre-adoption estimates: are any of them off zero (Bonferroni over the pre-periods)?

    ``testable=False`` where the headline has no interval because too few groups carry the
    treatment (causal.inference): the event-time standard errors are clustered at that same
    level, so with one or two treated clusters they are near zero and every t statistic is
    meaningless (seen: max |t| = 6.6e12 with one treated sector); no test is made then."""
    pre = ev[(ev.index < 0) & (ev["std_error"] > 0)]
    if pre.empty:
        return {"pretrend_periods": 0}
    if not testable:
        return {"pretrend_periods": len(pre), "pretrend_tested": False}
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
