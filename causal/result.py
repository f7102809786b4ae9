"""The one result every estimator returns: :class:`Estimate`.

The gross/net decomposition (DESIGN.md): ``gross`` is the mean outcome of the treated (what an
evaluation report publishes), ``net`` the estimated effect of the measure, ``counterfactual``
what the treated would have had without it (gross minus net), and ``deadweight`` the
counterfactual as a share of gross. Binary outcomes are in percentage points throughout.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ESTIMANDS = ("ATE", "ATT", "ITT", "LATE", "LATE_cutoff", "ATT_dynamic", "dose_response", "naive")


def _r(x: float | None, nd: int = 4) -> float | None:
    """Round for stable, byte-identical JSON (same spec, data and seed: same summary.json)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), nd)


@dataclass
class Estimate:
    """A net effect with its gross/counterfactual decomposition.

    ``net``, ``ci_low``, ``ci_high``, ``gross`` are on the outcome's own scale: percentage
    points (0-100) for a binary outcome. ``net`` is None when the design does not identify the
    effect; ``reason`` then says why.
    """

    measure: str
    estimator: str
    estimand: str
    net: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    se: float | None = None
    gross: float | None = None
    n_treated: int = 0
    n_control: int = 0
    unit: str = "pp"
    outcome_label: str = "the outcome"
    truth: float | None = None
    label: str = ""
    interval: str = "95% confidence interval"
    method: str = ""
    reason: str | None = None
    #: how the standard error and interval were computed ("HC2 robust", "CR1 clustered by
    #: sector", "wild cluster bootstrap by sector ..."; see :mod:`causal.inference`)
    se_type: str = ""
    #: number of clusters behind a clustered standard error (None: not clustered)
    n_clusters: int | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: name -> function returning a matplotlib Figure; the report renders each to
    #: ``<estimator>_<name>.png`` in the measure's folder (in the worker, so never pickled).
    figures: dict[str, Callable[[], Any]] = field(default_factory=dict, repr=False, compare=False)
    #: file name -> function writing that file to the given path (posterior.nc, say).
    files: dict[str, Callable[[Any], None]] = field(default_factory=dict, repr=False, compare=False)

    # -- the decomposition -------------------------------------------------------------
    @property
    def identified(self) -> bool:
        return self.net is not None

    @property
    def counterfactual(self) -> float | None:
        """What the treated would have had without the measure: gross minus net."""
        if self.gross is None or self.net is None:
            return None
        return self.gross - self.net

    @property
    def deadweight(self) -> float | None:
        """Counterfactual as a share of gross (0-1): the part that would have happened anyway."""
        cf = self.counterfactual
        if cf is None or not self.gross:
            return None
        return cf / self.gross

    @property
    def covers_truth(self) -> bool | None:
        if self.truth is None or self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low <= self.truth <= self.ci_high

    @property
    def name(self) -> str:
        """Estimator name plus label, e.g. ``rct_difference (LATE)``."""
        return f"{self.estimator}" + (f" ({self.label})" if self.label else "")

    # -- rendering ---------------------------------------------------------------------
    def sentence(self) -> str:
        """One plain sentence a policy maker can quote."""
        u = " points" if self.unit == "pp" else f" {self.unit}"
        if self.net is None:
            return f"{self.measure}: no net effect can be given ({self.reason or 'not identified'})."
        parts = []
        if self.gross is not None:
            g = f"{self.gross:.0f}%" if self.unit == "pp" else f"{self.gross:.3g}{u}"
            parts.append(f"Of the participants, {g} {self.outcome_label}")
            if self.counterfactual is not None:
                parts.append(f"about {self.counterfactual:.0f}{u} of that would have happened anyway")
        verb = "added" if self.net >= 0 else "changed it by"
        s = f"the measure {verb} {self.net:.1f}{u}"
        if self.ci_low is not None and self.ci_high is not None:
            kind = "95% credible interval" if "credible" in self.interval else "95% interval"
            s += f" ({kind} {self.ci_low:.1f} to {self.ci_high:.1f})"
        parts.append(s)
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."

    def to_dict(self) -> dict[str, Any]:
        """Stable, JSON-ready dict (rounded; figures left out)."""
        d = asdict(self)
        d.pop("figures", None)
        d.pop("files", None)
        for k in ("net", "ci_low", "ci_high", "se", "gross", "truth"):
            d[k] = _r(d[k])
        d["counterfactual"] = _r(self.counterfactual)
        d["deadweight"] = _r(self.deadweight)
        d["covers_truth"] = self.covers_truth
        d["sentence"] = self.sentence()
        d["diagnostics"] = _jsonable(self.diagnostics)
        return d

    def summary(self) -> str:
        """A short text block, in the spirit of linearmodels' result summaries."""
        rows = [
            ("Measure", self.measure), ("Estimator", self.name), ("Estimand", self.estimand),
            ("Net effect", _fmt(self.net, self.unit)),
            ("Interval", f"[{_fmt(self.ci_low, '')}, {_fmt(self.ci_high, '')}] ({self.interval})"),
            ("Gross (treated mean)", _fmt(self.gross, "%" if self.unit == "pp" else self.unit)),
            ("Counterfactual", _fmt(self.counterfactual, "%" if self.unit == "pp" else self.unit)),
            ("Deadweight share", "-" if self.deadweight is None else f"{self.deadweight:.0%}"),
            ("n treated / control", f"{self.n_treated} / {self.n_control}"),
        ]
        if self.truth is not None:
            rows.append(("True effect (twin)", _fmt(self.truth, self.unit)))
        if self.se_type:
            rows.append(("Standard error", self.se_type + (
                f" ({self.n_clusters} clusters)" if self.n_clusters else "")))
        if self.method:
            rows.append(("Method", self.method))
        w = max(len(k) for k, _ in rows)
        out = [f"{k:<{w}}  {v}" for k, v in rows]
        out += [f"warning: {x}" for x in self.warnings]
        if self.reason:
            out.append(f"not identified: {self.reason}")
        return "\n".join(out)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()


def _fmt(x: float | None, unit: str) -> str:
    return "-" if x is None else f"{x:.2f} {unit}".rstrip()


def _jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers into plain JSON types, rounded."""
    import numpy as np
    import pandas as pd

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return _jsonable(obj.reset_index().to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return _jsonable(obj.to_dict())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _r(float(obj), 6)
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)
