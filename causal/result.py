"""The one result every estimator returns: :class:`Estimate`.

The gross/net decomposition (DESIGN.md): ``gross`` is the mean outcome of the group the
estimand is about (what an evaluation report publishes), ``net`` the estimated effect of the
measure, ``counterfactual`` what that group would have had without it (gross minus net), and
``deadweight`` the counterfactual as a share of gross. Binary outcomes are in percentage
points throughout.

The group depends on the estimand (:data:`DECOMPOSED`): the participants for an ATT, those
invited for an ITT, the compliers for a LATE, those just past the threshold for an RD effect.
An ATE is about the whole population and a dose-response about one more unit of dose, so
neither has a participants' decomposition; a naive comparison is not an effect, so it has no
counterfactual and no deadweight. Deadweight is a share in [0, 1] and is given only when the
net effect is positive and its interval excludes zero (otherwise words say why, see
:mod:`causal.messages`); its interval maps the net effect's interval through
``1 - net / gross`` with gross held fixed (the gross is a sample mean of the same group, far
more precise than the effect; Bloom 1984's deadweight reading of an impact estimate).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ESTIMANDS = ("ATE", "ATT", "ITT", "LATE", "LATE_cutoff", "ATT_dynamic", "dose_response", "naive")

#: estimand -> the group whose gross outcome it decomposes (None: no decomposition).
DECOMPOSED: dict[str, str | None] = {
    "ATT": "participants", "ATT_dynamic": "participants", "ITT": "assigned",
    "LATE": "compliers", "LATE_cutoff": "at_threshold", "ATE": None, "dose_response": None,
    "naive": None,
}


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
    #: the outcome label in Dutch (spec ``outcome.label_nl``), for the Dutch sentence.
    outcome_label_nl: str = ""
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

    def decomposition(self) -> dict[str, Any]:
        """Gross, counterfactual, net and deadweight for the group the estimand is about
        (see :func:`decompose`)."""
        return decompose(self.estimand, self.net, self.ci_low, self.ci_high, self.gross)

    @property
    def counterfactual(self) -> float | None:
        """What the estimand's group would have had without the measure: gross minus net
        (None where the estimand has no such group, see :meth:`decomposition`)."""
        return self.decomposition()["counterfactual"]

    @property
    def deadweight(self) -> float | None:
        """The share of gross that would have happened anyway, in [0, 1]; None where no share
        can be given (see :meth:`decomposition` for the reason)."""
        return self.decomposition()["deadweight"]

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
    def sentence(self, lang: str = "en") -> str:
        """One plain sentence a policy maker can quote, worded for the estimand (English or
        Dutch, from the message catalogue :mod:`causal.messages`)."""
        from causal.messages import sentence

        return sentence(self._sentence_fields(), lang)

    def _sentence_fields(self) -> dict[str, Any]:
        return {**self.decomposition(), "estimand": self.estimand, "net": self.net,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "unit": self.unit,
                "interval": self.interval, "outcome_label": self.outcome_label,
                "outcome_label_nl": self.outcome_label_nl, "reason": self.reason}

    def to_dict(self) -> dict[str, Any]:
        """Stable, JSON-ready dict (rounded; figures left out)."""
        d = asdict(self)
        d.pop("figures", None)
        d.pop("files", None)
        for k in ("net", "ci_low", "ci_high", "se", "gross", "truth"):
            d[k] = _r(d[k])
        from causal.messages import both

        dec = self.decomposition()
        d["gross"] = _r(dec["gross"])
        for k in ("counterfactual", "deadweight", "deadweight_low", "deadweight_high"):
            d[k] = _r(dec[k])
        d["population"] = dec["population"]
        d["deadweight_status"] = dec["deadweight_status"]
        d["covers_truth"] = self.covers_truth
        d["sentences"] = both(self._sentence_fields())
        d["sentence"] = d["sentences"]["en"]
        d["diagnostics"] = _jsonable(self.diagnostics)
        return d

    def summary(self) -> str:
        """A short text block, in the spirit of linearmodels' result summaries."""
        from causal.messages import deadweight_text

        dec = self.decomposition()
        rows = [
            ("Measure", self.measure), ("Estimator", self.name), ("Estimand", self.estimand),
            ("Net effect", _fmt(self.net, self.unit)),
            ("Interval", f"[{_fmt(self.ci_low, '')}, {_fmt(self.ci_high, '')}] ({self.interval})"),
            ("Gross" + (f" ({dec['population']})" if dec["population"] else ""),
             _fmt(dec["gross"], "%" if self.unit == "pp" else self.unit)),
            ("Counterfactual", _fmt(dec["counterfactual"], "%" if self.unit == "pp" else self.unit)),
            ("Deadweight share", deadweight_text(dec)),
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

    def _repr_html_(self) -> str:
        """Jupyter: the estimate as a small table with its sentence."""
        from causal.notebook import estimate_html

        return estimate_html(self)

    def plot(self, lang: str | None = None) -> Any:
        """The decomposition figure (a matplotlib Figure; displays inline in Jupyter)."""
        from causal.notebook import estimate_figure

        return estimate_figure(self, lang)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()


def decompose(estimand: str, net: float | None, ci_low: float | None, ci_high: float | None,
              gross: float | None) -> dict[str, Any]:
    """Gross, counterfactual, net and deadweight for the group the estimand is about.

    Keys: ``population`` (participants, assigned, compliers, at_threshold, or None),
    ``gross``, ``counterfactual``, ``deadweight`` with ``deadweight_low`` and
    ``deadweight_high``, and ``deadweight_status``: ``estimated``, ``not_distinguishable``
    (the net interval includes zero), ``no_interval`` (the net has none), ``no_positive_effect``
    (net <= 0), ``not_applicable``
    (no group whose gross is meant), ``naive`` or None (no net effect). A pure function, so
    the same rules apply to an Estimate and to a gated summary row.
    """
    pop = DECOMPOSED.get(estimand, "participants")
    out: dict[str, Any] = dict(population=pop, gross=None, counterfactual=None,
                               deadweight=None, deadweight_low=None, deadweight_high=None,
                               deadweight_status=None)
    if estimand == "naive":
        out.update(gross=gross, deadweight_status="naive")
        return out
    if net is None:
        return out
    if pop is None or gross is None or not math.isfinite(gross):
        out["deadweight_status"] = "not_applicable"
        return out
    out.update(gross=gross, counterfactual=gross - net)
    if gross <= 0:
        out["deadweight_status"] = "not_applicable"
    elif ci_low is None or ci_high is None:  # no interval (too few groups, say): no claim
        out["deadweight_status"] = "no_interval"
    elif ci_low <= 0 <= ci_high:
        out["deadweight_status"] = "not_distinguishable"
    elif net <= 0:
        out["deadweight_status"] = "no_positive_effect"
    else:
        def share(x: float) -> float:
            return min(1.0, max(0.0, 1.0 - x / gross))
        out.update(deadweight=share(net), deadweight_status="estimated",
                   deadweight_low=None if ci_high is None else share(ci_high),
                   deadweight_high=None if ci_low is None else share(ci_low))
    return out


def headline_fields(row: dict[str, Any], decimals: int = 1) -> dict[str, Any]:
    """Recompute what derives from the headline figures of a (gated) summary row: the
    decomposition and the sentences, so that nothing written rests on figures the output
    gate rounded or withheld. Counterfactual to ``decimals`` like the other headline figures,
    deadweight shares to ``decimals + 2``."""
    from causal.messages import both

    row = dict(row)
    dec = decompose(row.get("estimand", ""), row.get("net"), row.get("ci_low"),
                    row.get("ci_high"), row.get("gross"))
    row["counterfactual"] = None if dec["counterfactual"] is None else round(
        dec["counterfactual"], decimals)
    for k in ("deadweight", "deadweight_low", "deadweight_high"):
        row[k] = None if dec[k] is None else round(dec[k], decimals + 2)
    row["gross"] = dec["gross"]
    row["population"] = dec["population"]
    row["deadweight_status"] = dec["deadweight_status"]
    row["sentences"] = both(row)
    row["sentence"] = row["sentences"]["en"]
    return row


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
