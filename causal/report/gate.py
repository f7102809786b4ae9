"""The output gate: every number netto writes to disk passes here with the persons behind it.

Rules (per spec under ``disclosure``; defaults are the rules of thumb of the ESSnet guidelines
for checking output based on microdata research, Brandt, Franconi, Guerke, Hundepool,
Lucarelli, Mol, Ritchie, Seri and Welpton 2010, which the CBS output guidelines for its
Remote Access microdata environment apply):

- ``min_cell`` (10): no mean, share, cell, group or model estimate rests on fewer persons;
  for a difference, neither side; for a share of a binary outcome, neither those with nor
  those without the outcome (else the share tells each one's outcome: group disclosure);
- ``min_df`` (10): a model-based estimate needs that many residual degrees of freedom;
- ``dominance_share`` (0.5): for continuous outcomes, no single person may hold more than
  this share of a group's total (the (1, k) dominance rule, Hundepool et al. 2012, 4.2);
- ``round_counts`` (5): counts of persons (and rows) are published rounded to this base; a
  count under ``min_cell`` is published as ``"<10"``, never exactly; population counts too;
- ``percent_decimals`` (1): headline figures (gross, net, interval, counterfactual) to one
  decimal; other statistics to three significant digits. Rounding of counts and published
  figures is the differencing protection: a run with and one without a small group give
  figures whose difference does not pin that group down (Hundepool et al. 2012, 5.2).

What is withheld is listed in the summary (``disclosure.suppressed``: where and why, never
the value). Figures: see :mod:`causal.report.gate_figures`. ``causal audit`` re-checks what
was written, independently of this module (:mod:`causal.audit`).

Estimators hand the gate what it needs and must not publish under the private key
``diagnostics["_gate"]``: ``counts`` (raw person counts behind the headline: e.g.
``n_treated_with_outcome``), ``dominance`` (largest share of one person in a group total) and
``df_resid``. The gate strips every ``_gate`` key. Person counts elsewhere are recognised by
name: ``n``, ``n_*``, ``*_n``, ``rows``, ``count``, ``*_count`` (structural counts such as
``n_covariates`` or ``n_groups`` are not persons; :data:`NOT_PERSONS`).

Written by hand: it walks netto's own result structure, which no SDC library knows; the
rules themselves are the standard ones (sdcMicro and tau-Argus apply them to tables).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

#: keys of the form n_* that count things other than persons.
NOT_PERSONS = frozenset({
    "n_covariates", "n_cells", "n_groups", "n_steps", "n_strata", "n_regions", "n_draws",
    "n_bins", "n_clusters", "n_periods", "n_cohorts", "n_folds", "n_chains", "n_params",
    "n_estimators", "n_specs", "n_measures", "n_tune", "n_levels", "n_knots", "n_events_times",
})
#: person counts whose names do not follow the n_* pattern.
PERSON_KEYS = frozenset({"units", "never_treated_units", "person_months",
                         "exits_to_work_within_horizon", "reach_aow_within_horizon"})
#: count keys that count excluded rows: shown as "<k" when small, never suppress their record.
EXCLUDED_WORDS = ("dropped", "trimmed", "excluded", "removed", "outside")
HEADLINE = ("net", "ci_low", "ci_high", "gross", "counterfactual")
PRIVATE = "_gate"


def is_count_key(key: str) -> bool:
    """Does this key hold a count of persons (or rows)? (the naming contract; see module doc)"""
    k = str(key).lower()
    if k in NOT_PERSONS or k.startswith("n_smd"):
        return False
    return (k in ("n", "rows", "count", "persons") or k in PERSON_KEYS
            or k.startswith("n_") or k.endswith("_n")
            or k.endswith("_count") or k.endswith("_rows"))


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def sig(x: float, digits: int = 3) -> float:
    """``x`` to ``digits`` significant digits."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


_STRUCTURAL_NOUNS = (
    r"groups?|regions?|intercepts?|effects?|covariates?|estimators?|cells?|strata|periods?|"
    r"cohorts?|specs?|measures?|months?|years?|quarters?|folds?|chains?|simulations?|draws?|"
    r"bins?|sectors?|projects?|refutations?|tests?|levels?|categories|clusters?")
_PERSON_NOUNS = (r"persons|people|rows|participants|jobseekers|treated|untreated|controls|"
                 r"individuals|cases|non-participants")
_NUM = r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)"
_X_OF_Y = re.compile(_NUM + r"(\s+(?:of|out of)\s+)" + r"(\d{1,3}(?:,\d{3})+|\d+)(?![\w.])"
                     r"(?!\s+(?:\w+\s+)?(?:" + _STRUCTURAL_NOUNS + r")\b)", re.I)
_X_PERSONS = re.compile(_NUM + r"(\s+(?:" + _PERSON_NOUNS + r")\b)(?!\s+(?:groups?|clusters?|"
                        r"regions?|sectors?|projects?|cohorts?|periods?)\b)", re.I)
_OF_THEM = re.compile(_NUM + r"(\s+of\s+them)\b", re.I)
_N_IS = re.compile(r"\b(n\s*=\s*)(\d{1,3}(?:,\d{3})+|\d+)(?![\w.])")
_PCT = re.compile(r"(?<![\w.])(\d+\.\d+)(\s?%)")


@dataclass(frozen=True)
class Rules:
    min_cell: int = 10
    round_counts: int = 5
    percent_decimals: int = 1
    min_df: int = 10
    dominance_share: float = 0.5

    @classmethod
    def of(cls, obj: Any) -> Rules:
        """From a spec's ``disclosure`` block, a dict, an int (min_cell) or None."""
        if obj is None:
            return cls()
        if isinstance(obj, Rules):
            return obj
        if isinstance(obj, int):
            return cls(min_cell=obj)
        d = obj if isinstance(obj, dict) else obj.model_dump()
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def round_count(n: float, base: int) -> int:
    """Round a count to the nearest multiple of ``base`` (halves up)."""
    return int(base * math.floor(float(n) / base + 0.5))


def fmt_count(n: int, rules: Rules | Any = None) -> str:
    """A count of persons for a sentence: "about 1,205" (rounded), "fewer than 10", "no"."""
    r = Rules.of(rules)
    if n == 0:
        return "no"
    if n < r.min_cell:
        return f"fewer than {r.min_cell}"
    return f"about {round_count(n, r.round_counts):,}" if r.round_counts > 1 else f"{n:,}"


@dataclass
class Gate:
    """Applies :class:`Rules` and keeps the list of what it withheld (where and why)."""

    rules: Rules = field(default_factory=Rules)
    suppressed: list[dict[str, str]] = field(default_factory=list)

    @property
    def k(self) -> int:
        return self.rules.min_cell

    def hide(self, where: str, reason: str) -> None:
        item = {"where": where, "reason": reason}
        if item not in self.suppressed:
            self.suppressed.append(item)

    def small(self, n: Any) -> bool:
        return _is_num(n) and 0 < n < self.k

    # -- single numbers ----------------------------------------------------------------
    def count(self, n: Any, where: str = "") -> Any:
        """A person count as published: rounded, or ``"<k"`` when under the threshold."""
        if not _is_num(n) or (isinstance(n, float) and not math.isfinite(n)):
            return n
        if self.small(n):
            return f"<{self.k}"
        return round_count(n, self.rules.round_counts)

    def figure_value(self, x: Any) -> Any:
        """A headline figure (percentage, effect) rounded to ``percent_decimals``."""
        if not _is_num(x) or not math.isfinite(x):
            return None if _is_num(x) else x
        return round(float(x), self.rules.percent_decimals)

    def why_not(self, groups: dict[str, Any], classes: dict[str, Any] | None = None, *,
                df: Any = None, dominance: dict[str, Any] | None = None) -> str | None:
        """The reason a number resting on ``groups`` (person counts; an empty group is no
        one's secret) and ``classes`` (persons with and without a binary outcome in a group:
        zero is group disclosure too) may not be published, or None."""
        small = [key for key, v in groups.items() if self.small(v)]
        small += [key for key, v in (classes or {}).items() if _is_num(v) and v < self.k]
        if small:
            return f"rests on fewer than {self.k} persons ({', '.join(sorted(small))})"
        if _is_num(df) and df < self.rules.min_df:
            return f"fewer than {self.rules.min_df} residual degrees of freedom"
        dom = [key for key, v in (dominance or {}).items()
               if _is_num(v) and v > self.rules.dominance_share]
        if dom:
            return (f"one person holds more than {self.rules.dominance_share:.0%} of a group "
                    f"total ({', '.join(sorted(dom))}; dominance rule)")
        return None

    def text(self, s: str) -> str:
        """Person counts in a sentence ("excluded 3 of 400 rows", "n = 1203", "58 persons")
        rounded or said as "fewer than k"; percentages to ``percent_decimals``. The safety
        net for free text; code that writes sentences should use :func:`fmt_count`."""
        if not isinstance(s, str) or not any(ch.isdigit() for ch in s):
            return s

        def c(num: str) -> str:
            n = int(num.replace(",", ""))
            if n == 0:
                return "0"
            if n < self.k:
                return f"fewer than {self.k}"
            return f"{round_count(n, self.rules.round_counts):,}"

        s = _X_OF_Y.sub(lambda m: f"{c(m.group(1))}{m.group(2)}{c(m.group(3))}", s)
        s = _X_PERSONS.sub(lambda m: f"{c(m.group(1))}{m.group(2)}", s)
        s = _OF_THEM.sub(lambda m: f"{c(m.group(1))}{m.group(2)}", s)
        s = _N_IS.sub(lambda m: f"{m.group(1)}{c(m.group(2))}", s)
        nd = self.rules.percent_decimals
        return _PCT.sub(lambda m: f"{float(m.group(1)):.{nd}f}{m.group(2)}", s)

    # -- nested structures (diagnostics, warnings) ---------------------------------------
    def tree(self, obj: Any, where: str, scope_ok: bool = True) -> Any:
        """Gate a nested structure: records (dicts) whose own person counts are under the
        threshold are replaced by a marker; counts are rounded; other numbers keep three
        significant digits, and are dropped when the scope they rest on is too small."""
        if isinstance(obj, dict):
            obj = {k: v for k, v in obj.items() if k != PRIVATE}
            own = {k: v for k, v in obj.items() if is_count_key(k) and _is_num(v)}
            bad = [k for k, v in own.items() if self.small(v)
                   and not any(w in k for w in EXCLUDED_WORDS)]
            if where and bad:
                self.hide(where, f"rests on fewer than {self.k} persons")
                return {"suppressed": f"fewer than {self.k} persons"}
            out = {}
            for key, v in obj.items():
                sub = f"{where}.{key}" if where else str(key)
                if key in own:
                    out[key] = self.count(v, sub)
                elif key in HEADLINE and _is_num(v) and scope_ok:
                    # a headline-like figure inside diagnostics (a sensitivity bound's
                    # interval, a subgroup's effect) is rounded like the headline
                    out[key] = self.figure_value(v)
                elif is_count_key(key) and isinstance(v, (dict, list)):
                    out[key] = self.counts_in(v)
                else:
                    out[key] = self.tree(v, sub, scope_ok)
            return out
        if isinstance(obj, (list, tuple)):
            return [self.tree(v, f"{where}[{i}]", scope_ok) for i, v in enumerate(obj)]
        if isinstance(obj, str):
            return self.text(obj)
        if _is_num(obj):
            if not scope_ok:
                return None
            return obj if isinstance(obj, int) else sig(float(obj)) if math.isfinite(obj) else None
        return obj

    def counts_in(self, obj: Any) -> Any:
        """Every number under a count key (``cell_sizes: {...}``) is a count."""
        if isinstance(obj, dict):
            return {k: self.counts_in(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.counts_in(v) for v in obj]
        return self.count(obj)

    # -- one estimate --------------------------------------------------------------------
    def estimate(self, d: dict[str, Any], name: str) -> dict[str, Any]:
        """Gate one estimate dict (``Estimate.to_dict()``); see the module doc."""
        d = dict(d)
        diag = dict(d.get("diagnostics") or {})
        priv = diag.pop(PRIVATE, None) or {}
        nt, nc = d.get("n_treated"), d.get("n_control")
        if d.get("estimator") == "naive" or d.get("estimand") == "naive":
            df = None
        else:
            df = priv.get("df_resid")
        reason = None
        if d.get("net") is not None or d.get("gross") is not None:
            reason = self.why_not({"n_treated": nt, "n_control": nc}, priv.get("counts"), df=df)
        dom = self.why_not({}, dominance=priv.get("dominance"))
        if reason:
            for key in (*HEADLINE, "se", "deadweight"):
                d[key] = None
            d["reason"] = f"withheld (disclosure control): {reason}"
            d["sentence"] = d["reason"]
            d["diagnostics"] = {}
            d["warnings"] = [w for w in d.get("warnings") or [] if _no_digits(w)]
            self.hide(f"{name}: estimate and its diagnostics", reason)
        else:
            if dom:
                for key in ("gross", "counterfactual", "deadweight"):
                    d[key] = None
                if d.get("estimator") == "naive":
                    d["net"] = d["ci_low"] = d["ci_high"] = d["se"] = None
                d["sentence"] = f"{name}: the bruto figure is withheld (disclosure control: {dom})."
                self.hide(f"{name}: bruto and counterfactual", dom)
            for key in HEADLINE:
                d[key] = self.figure_value(d.get(key))
            d["se"] = None if d.get("se") is None else sig(float(d["se"]))
            if d.get("deadweight") is not None:
                d["deadweight"] = round(float(d["deadweight"]), self.rules.percent_decimals + 2)
            d["diagnostics"] = self.tree(diag, f"{name}: diagnostics")
        for key, v in list(d.items()):  # every sentence of the estimate
            if isinstance(v, str) and key not in _NAMES:
                d[key] = self.text(v)
        d["warnings"] = [self.text(w) for w in d.get("warnings") or []]
        d["n_treated"], d["n_control"] = self.count(nt), self.count(nc)
        return d


_NAMES = ("measure", "estimator", "estimand", "label", "unit", "name", "outcome_label")


def _no_digits(text: str) -> bool:
    return not any(ch.isdigit() for ch in str(text))


def gate_summary(raw: dict[str, Any], rules: Rules, private: dict[str, Any] | None = None,
                 suppressed: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Gate one measure's raw summary (writer.measure_summary) into what may be written.

    ``private`` carries what the gate needs about the study and must not publish: the raw
    counts behind ``gross_on_data`` and its dominance share. ``suppressed`` adds what was
    withheld earlier (figures gated in the worker)."""
    g = Gate(rules)
    out = dict(raw)
    out["estimates"] = [g.estimate(e, e.get("name") or e["estimator"]) for e in raw["estimates"]]
    private = private or {}
    gross = raw.get("gross_on_data")
    why = g.why_not(private.get("groups") or {}, private.get("counts"),
                    dominance=private.get("dominance"))
    if gross is not None and why:
        out["gross_on_data"] = None
        g.hide("bruto on these data", why)
    else:
        out["gross_on_data"] = g.figure_value(gross)
    data = dict(raw.get("data") or {})
    if "rows" in data:
        data["rows"] = g.count(data["rows"])
    out["data"] = data
    out["warnings"] = g.tree(raw.get("warnings") or [], "warnings")
    out["notes"] = [g.text(x) for x in raw.get("notes") or []]
    for key in ("adjustment", "identification", "identification_nl", "adjustment_reason",
                "adjustment_reason_nl"):
        out[key] = g.text(raw.get(key))
    for item in suppressed or []:
        g.hide(item["where"], item["reason"])
    out["disclosure"] = {**rules.as_dict(), "suppressed": g.suppressed}
    return out


__all__ = ["Rules", "Gate", "gate_summary", "fmt_count", "round_count", "is_count_key", "sig",
           "NOT_PERSONS", "PRIVATE"]
