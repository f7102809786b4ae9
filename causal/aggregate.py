"""Aggregate data: series (unit x period panels) and group-level tables.

Specs with a ``series`` block (``treatment.assignment: series``) or a ``groups`` block
(``treatment.assignment: groups``) do not hold one row per person, so the person-level checks
of :mod:`causal.data` (a 0/1 treatment per person, both arms present) do not apply. This
module reads and checks them instead and builds the :class:`~causal.study.Study`:

- series: every unit has every period once (a balanced panel), the treated unit and the
  donors exist, at least three periods before the intervention and one from it, rates are
  finite, and every row says how many persons its rate rests on (the ``population`` column:
  the output gate's count). The treatment column is derived when absent: 1 for the treated
  unit's periods from the intervention on.
- groups: one row per group, with finite estimates and positive standard errors, or counts
  with 0 <= successes <= n per arm; at least two groups.

Every problem a user can cause is a :class:`~causal.errors.DataError` naming the column.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from causal.errors import DataError
from causal.spec import Spec
from causal.study import Study


def prepare_aggregate(spec: Spec, data: str | Path | pd.DataFrame | None, *,
                      seed: int | None = None, n: int | None = None,
                      stress: list | None = None) -> Study:
    """The Study of a series or groups spec, on a file, a frame, or (default) its twin."""
    from causal.data import apply_population, map_columns, read_table

    truth: dict[str, float] = {}
    if data is None and spec.data is not None and spec.data.path:
        data = (spec.path.parent / spec.data.path) if spec.path else spec.data.path
    if data is None:
        from causal.twins import make_twin

        tw = make_twin(spec, seed=seed, n=n, stress=stress)
        df, truth = tw.data, tw.truth
        source = (f"synthetic twin of {spec.measure} "
                  f"(seed {seed if seed is not None else spec.simulation.seed})")
    elif isinstance(data, pd.DataFrame):
        df, source = data, "data frame"
    else:
        source = str(data)
        df = map_columns(read_table(data), spec, source)
    df, notes = apply_population(df, spec, source) if spec.population.conditions else (df, [])
    df = check_series(df, spec, source) if spec.series is not None else check_groups(df, spec, source)
    return AggregateStudy(spec=spec, data=df, source=source, truth=truth, covariates=[],
                          adjustment_note="", notes=notes)


class AggregateStudy(Study):
    """A Study whose rows are units x periods or groups, not persons: the bruto figure and
    the output gate's person counts come from the population and count columns (a rate
    rests on its unit's population; a group's row on its persons), never from row counts."""

    def persons(self) -> tuple[int, int]:
        """Persons behind the treated side and the comparison side."""
        if self.spec.series is not None:
            s = self.spec.series
            df = self.data
            t0 = pd.Timestamp(s.intervention)
            post = df[s.period] >= t0
            treated = df[s.unit] == s.treated
            n1 = float(df.loc[treated & post, s.population].mean())
            n0 = float(df.loc[~treated & post].groupby(s.period)[s.population].sum().mean())
            return int(n1), int(n0)
        g = self.spec.groups
        if g.counts:
            return int(self.data[g.n_treated].sum()), int(self.data[g.n_control].sum())
        return int(self.data[g.n].sum()), 0

    def gross(self) -> float:
        """The treated side's mean outcome: the treated unit's rate over the periods from the
        intervention on (series), the participants' pooled success rate (counts, pp), or
        nothing (a table of estimates has no bruto)."""
        if self.spec.series is not None:
            s = self.spec.series
            df = self.data
            m = (df[s.unit] == s.treated) & (df[s.period] >= pd.Timestamp(s.intervention))
            return float(df.loc[m, self.outcome].mean())
        g = self.spec.groups
        if g.counts:
            return float(100 * self.data[g.successes_treated].sum() / self.data[g.n_treated].sum())
        return float("nan")

    def gate_private(self) -> dict:
        """Persons per side, and persons with and without the outcome where a rate or counts
        say it (the gate's class rule); no dominance: a rate is not a sum of persons' values."""
        n1, n0 = self.persons()
        counts: dict[str, int] = {}
        g = self.spec.groups
        if g is not None and g.counts:
            s1, s0 = int(self.data[g.successes_treated].sum()), int(self.data[g.successes_control].sum())
            counts = {"n_treated_with_outcome": s1, "n_treated_without_outcome": n1 - s1,
                      "n_control_with_outcome": s0, "n_control_without_outcome": n0 - s0}
        elif self.spec.series is not None and self.spec.series.kind == "rate":
            share = self.gross() / 100.0
            yes = int(round(share * n1))
            counts = {"n_treated_with_outcome": yes, "n_treated_without_outcome": n1 - yes}
        return {"groups": {"n_treated": n1, "n_control": n0}, "counts": counts, "dominance": {}}

    def estimate(self, estimator: str, estimand: str, net, ci=None, se=None, **kw):
        """As :meth:`Study.estimate`, with the persons behind each side as n_treated and
        n_control and the residual degrees of freedom the estimator passes (``df_resid=``)."""
        n1, n0 = self.persons()
        kw.setdefault("n_treated", n1)
        kw.setdefault("n_control", n0)
        df_resid = kw.pop("df_resid", None)
        est = super().estimate(estimator, estimand, net, ci, se, **kw)
        est.diagnostics["_gate"] = {**self.gate_private(), "df_resid": df_resid}
        return est


def _need(df: pd.DataFrame, cols: dict[str, str], source: str) -> None:
    for col, fld in cols.items():
        if col not in df.columns:
            raise DataError(source, f"is required by the spec field '{fld}' but is not in the "
                            f"data (columns: {', '.join(map(str, df.columns[:30]))})", column=col)


def _numeric(df: pd.DataFrame, col: str, source: str, what: str) -> np.ndarray:
    s = pd.to_numeric(df[col], errors="coerce")
    bad = s.isna() | ~np.isfinite(s.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        raise DataError(source, f"{int(bad.sum())} of {len(df)} rows have no finite number for "
                        f"the {what} (first: {df[col][bad].iloc[0]!r})", column=col)
    return s.to_numpy(dtype=float)


def check_series(df: pd.DataFrame, spec: Spec, source: str) -> pd.DataFrame:
    """Check a unit x period panel and add the derived treatment column."""
    from causal.context import as_dates

    s = spec.series
    oc = spec.outcome.column
    _need(df, {s.unit: "series.unit", s.period: "series.period", oc: "outcome.column",
               s.population: "series.population",
               **{c: "series.covariates" for c in s.covariates}}, source)
    out = df.copy()
    out[s.period] = as_dates(out[s.period], source, s.period)
    out[s.unit] = out[s.unit].astype(str)
    out[oc] = _numeric(out, oc, source, "outcome")
    pop = _numeric(out, s.population, source, "population (persons each rate rests on)")
    if (pop <= 0).any():
        raise DataError(source, f"{int((pop <= 0).sum())} rows have a population of zero or "
                        "less; each rate must rest on a positive number of persons",
                        column=s.population)
    out[s.population] = pop
    for c in s.covariates:
        out[c] = _numeric(out, c, source, "covariate")
    dup = out.duplicated([s.unit, s.period])
    if dup.any():
        first = out.loc[dup, [s.unit, s.period]].iloc[0]
        raise DataError(source, f"{int(dup.sum())} unit-period pairs appear more than once "
                        f"(first: {first[s.unit]} {first[s.period].date()})", column=s.unit)
    units = sorted(out[s.unit].unique())
    if s.treated not in units:
        raise DataError(source, f"the treated unit '{s.treated}' (series.treated) is not in the "
                        f"data (units: {', '.join(units[:20])})", column=s.unit)
    donors = s.donors if s.donors is not None else [u for u in units if u != s.treated]
    missing = [d for d in donors if d not in units]
    if missing:
        raise DataError(source, f"donor unit(s) {missing[:5]} (series.donors) are not in the "
                        "data", column=s.unit)
    if not donors:
        raise DataError(source, "no donor units: a series needs at least one unit besides "
                        "the treated one", column=s.unit)
    counts = out.groupby(s.unit)[s.period].nunique()
    n_periods = out[s.period].nunique()
    short = counts[counts < n_periods]
    if len(short):
        raise DataError(source, f"the panel is not balanced: unit '{short.index[0]}' has "
                        f"{int(short.iloc[0])} of {n_periods} periods; every unit needs every "
                        "period", column=s.period)
    t0 = pd.Timestamp(s.intervention)
    periods = np.sort(out[s.period].unique())
    n_pre, n_post = int((periods < t0).sum()), int((periods >= t0).sum())
    if n_pre < 3 or n_post < 1:
        raise DataError(source, f"{n_pre} periods before the intervention ({s.intervention}) "
                        f"and {n_post} from it; a series design needs at least 3 before and 1 "
                        "after", column=s.period)
    tc = spec.treatment.column
    if tc not in out.columns:
        out[tc] = ((out[s.unit] == s.treated) & (out[s.period] >= t0)).astype(int)
    keep = out[s.unit].isin([s.treated, *donors])
    return out[keep].sort_values([s.unit, s.period]).reset_index(drop=True)


def check_groups(df: pd.DataFrame, spec: Spec, source: str) -> pd.DataFrame:
    """Check a one-row-per-group table; add the derived treatment and outcome columns."""
    g = spec.groups
    cols = ([g.n_treated, g.successes_treated, g.n_control, g.successes_control] if g.counts
            else [g.estimate, g.se, g.n])
    _need(df, {g.column: "groups.column", **{c: "groups" for c in cols}}, source)
    out = df.copy()
    out[g.column] = out[g.column].astype(str)
    dup = out[g.column].duplicated()
    if dup.any():
        raise DataError(source, f"group '{out[g.column][dup].iloc[0]}' has more than one row; "
                        "the table needs one row per group", column=g.column)
    if len(out) < 2:
        raise DataError(source, f"{len(out)} group; pooling needs at least two", column=g.column)
    for c in cols:
        out[c] = _numeric(out, c, source, "groups column")
    if g.counts:
        for n_col, s_col in ((g.n_treated, g.successes_treated), (g.n_control, g.successes_control)):
            n_, s_ = out[n_col].to_numpy(), out[s_col].to_numpy()
            bad = (n_ < 1) | (s_ < 0) | (s_ > n_) | (n_ != np.round(n_)) | (s_ != np.round(s_))
            if bad.any():
                raise DataError(source, f"{int(bad.sum())} groups have counts that are not whole "
                                f"numbers with 0 <= successes <= n (first: "
                                f"{out[g.column][bad].iloc[0]})", column=s_col)
        derived = out[g.successes_treated] / out[g.n_treated]
    else:
        if (out[g.se] <= 0).any():
            raise DataError(source, "every standard error must be positive", column=g.se)
        if (out[g.n] < 1).any():
            raise DataError(source, "every group must rest on at least one person", column=g.n)
        derived = out[g.estimate]
    if spec.outcome.column not in out.columns:
        out[spec.outcome.column] = derived
    if spec.treatment.column not in out.columns:
        out[spec.treatment.column] = 1
    return out.reset_index(drop=True)


def group_persons(study: Study) -> np.ndarray:
    """Persons each group's row rests on (both arms for counts)."""
    g = study.spec.groups
    df = study.data
    if g.counts:
        return (df[g.n_treated] + df[g.n_control]).to_numpy(dtype=int)
    return df[g.n].to_numpy(dtype=int)


def series_wide(study: Study) -> tuple[pd.DataFrame, pd.DataFrame, str, list[str], np.ndarray]:
    """The series as wide frames (periods x units): outcome and population; the treated
    unit, the donors, and a boolean mask of the periods from the intervention on."""
    s = study.spec.series
    df = study.data
    y = df.pivot(index=s.period, columns=s.unit, values=study.outcome).sort_index()
    pop = df.pivot(index=s.period, columns=s.unit, values=s.population).sort_index()
    donors = s.donors if s.donors is not None else [u for u in y.columns if u != s.treated]
    post = (y.index >= pd.Timestamp(s.intervention))
    return y, pop, s.treated, list(donors), np.asarray(post)
