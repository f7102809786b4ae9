"""A :class:`Study`: one spec joined with its data, ready for any estimator.

Built by :func:`causal.pipeline.prepare` from a data file or a twin. It holds the data with
the spec's column names (after mapping and the population filter, with context columns
added), the adjustment set, and the truth when the data is a twin. Estimators read only
from here, and make their :class:`~causal.result.Estimate` with :meth:`Study.estimate`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal.result import Estimate
from causal.spec import Spec

#: the age groups the reports and the dml subgroup effects use (left-closed bins).
AGE_BINS = [-np.inf, 50, 55, 60, np.inf]
AGE_LABELS = ["45-49", "50-54", "55-59", "60+"]


def age_group(age: pd.Series) -> pd.Series:
    """Age group label (45-49, 50-54, 55-59, 60+) per person, as strings."""
    g = pd.cut(pd.Series(age, dtype=float), AGE_BINS, right=False, labels=AGE_LABELS)
    return g.astype(str).reset_index(drop=True)


def subgroup_key(estimand: str, dim: str, level: str) -> str:
    """Key of a subgroup truth in a twin's truth dict, e.g. ``ATE[age_group=50-54]``."""
    return f"{estimand}[{dim}={level}]"


@dataclass
class Study:
    spec: Spec
    data: pd.DataFrame
    source: str
    truth: dict[str, float] = field(default_factory=dict)
    covariates: list[str] = field(default_factory=list)
    adjustment_note: str = ""
    notes: list[str] = field(default_factory=list)
    #: set when the graph does not identify the effect: the reason, in plain words.
    not_identified: str | None = None
    #: how each column of the data file was read (causal.columns.ColumnInfo), for check
    columns: list = field(default_factory=list)
    #: how the data file was read ("CSV, semicolon-separated, decimal comma, UTF-8")
    dialect: str = ""
    #: design matrices by tuple of terms: (matrix on the study's data, formulaic ModelSpec)
    _designs: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    #: fitted propensity scores by (model, design columns), shared between estimators and
    #: the design warnings (a linear logit on 10,000,000 rows is fitted once)
    scores: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # -- columns -----------------------------------------------------------------------
    @property
    def measure(self) -> str:
        return self.spec.measure

    @property
    def treatment(self) -> str:
        return self.spec.treatment.column

    @property
    def outcome(self) -> str:
        return self.spec.outcome.column

    @property
    def received(self) -> str | None:
        return self.spec.treatment.received

    @property
    def region(self) -> str | None:
        return self.spec.region

    @property
    def scale(self) -> float:
        """Multiplier from the outcome column to the reporting scale (100 for binary: pp)."""
        return 100.0 if self.spec.is_binary else 1.0

    @property
    def unit(self) -> str:
        return "pp" if self.spec.is_binary else (self.spec.outcome.unit or "units")

    def y(self, data: pd.DataFrame | None = None) -> np.ndarray:
        """Outcome on the reporting scale (percentage points for binary outcomes)."""
        df = self.data if data is None else data
        return df[self.outcome].to_numpy(dtype=float) * self.scale

    def d(self, data: pd.DataFrame | None = None) -> np.ndarray:
        df = self.data if data is None else data
        return df[self.treatment].to_numpy(dtype=float)

    def design_matrix(self, columns: list[str] | None = None,
                      data: pd.DataFrame | None = None) -> pd.DataFrame:
        """The one design matrix of the study (:mod:`causal.design`): the adjustment terms
        (default: the study's covariates; column names or formula terms such as
        ``C(education)``, ``I(age**2)``, ``age:sex``) as numeric columns, categoricals
        treatment-coded (first level dropped), booleans 0/1, no constant column.

        Encoded once on the study's data (cached per list of terms); ``data`` (a subset or
        a resample) is encoded with the same levels and knots."""
        from causal.design import build_design, is_plain

        terms = tuple(self.covariates if columns is None else columns)
        df = self.data if data is None else data
        if not terms:
            return pd.DataFrame(index=df.index)
        if all(is_plain(t) and t in df.columns and pd.api.types.is_float_dtype(df[t])
               for t in terms):
            return df[list(terms)]  # numbers only: no copy (large registry data)
        hit = self._designs.get(terms)
        if hit is None:
            X, ms = build_design(self.data, list(terms), self.source)
            self._designs[terms] = hit = (X, ms)
        if data is None:
            return hit[0]
        return build_design(data, list(terms), self.source, model_spec=hit[1])[0]

    # -- results -----------------------------------------------------------------------
    def gross(self) -> float:
        """Mean outcome of the treated, on the reporting scale: the bruto figure."""
        d = self.d()
        return float(self.y()[d == 1].mean()) if (d == 1).any() else float("nan")

    def estimate(self, estimator: str, estimand: str, net: float | None,
                 ci: tuple[float, float] | None = None, se: float | None = None,
                 **kw: Any) -> Estimate:
        """Make an Estimate with this study's measure, gross, n, unit and truth filled in.

        Pass ``gross=`` for estimands whose gross is not the treated mean (a LATE's
        compliers, say); pass ``truth_key=`` when the truth sits under another key.
        """
        d = self.d()
        truth_key = kw.pop("truth_key", estimand)
        base: dict[str, Any] = dict(
            measure=self.measure, estimator=estimator, estimand=estimand, net=net,
            ci_low=None if ci is None else float(ci[0]),
            ci_high=None if ci is None else float(ci[1]), se=se,
            gross=self.gross(), n_treated=int((d == 1).sum()), n_control=int((d == 0).sum()),
            unit=self.unit, outcome_label=self.spec.outcome.label,
            outcome_label_nl=self.spec.outcome.label_nl or "",
            truth=self.truth.get(truth_key),
        )
        base.update(kw)
        est = Estimate(**base)
        if self.adjustment_note and "adjustment" not in est.diagnostics:
            est.diagnostics["adjustment"] = self.adjustment_note
        gate = {**self.gate_private(), "df_resid": int(len(d) - len(self.covariates) - 2)}
        own = est.diagnostics.get("_gate") or {}
        est.diagnostics["_gate"] = {**gate, **own,
                                    "counts": {**gate["counts"], **(own.get("counts") or {})}}
        return est

    def gate_private(self) -> dict[str, Any]:
        """What the output gate (causal/report/gate.py) needs about the treated and control
        groups and must not publish: persons with and without a binary outcome per group,
        or the largest share one person holds of a continuous outcome's group total."""
        d, y = self.d(), self.y()
        groups = {"n_treated": int((d == 1).sum()), "n_control": int((d == 0).sum())}
        out: dict[str, Any] = {"groups": groups, "counts": {}, "dominance": {}}
        for arm, m in (("treated", d == 1), ("control", d == 0)):
            if not m.any():
                continue
            if self.spec.is_binary:
                yes = int((y[m] > 0).sum())
                out["counts"][f"n_{arm}_with_outcome"] = yes
                out["counts"][f"n_{arm}_without_outcome"] = int(m.sum()) - yes
            elif self.spec.outcome.kind == "continuous":
                a = np.abs(y[m])
                tot = float(a.sum())
                out["dominance"][arm] = float(a.max() / tot) if tot > 0 else 0.0
        return out
