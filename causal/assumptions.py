"""What each interval assumes: one short plain sentence per design, in English and Dutch,
put next to every headline as ``diagnostics["assumes"]`` (and ``diagnostics["assumes_key"]``,
the catalogue key, so a renderer can show the Dutch text).

An interval covers the truth only when its design's identifying assumption holds; the
stress scenarios (:mod:`causal.twins.stress`) show what happens when it does not. The
sentences state the assumption that no data can check (Imbens and Rubin 2015, ch. 3 and 12;
Angrist and Pischke 2009 for IV, DiD and RD). Estimators that know better (an interrupted
time series, a synthetic control) set their own ``assumes`` and are left alone.

The sentences live in the message catalogue (``causal/messages/catalogue.yaml``, key
``assumes.<key>``, English and Dutch); this module picks the key per estimate.
"""
from __future__ import annotations

#: estimators whose assumption does not depend on the design
BY_ESTIMATOR: dict[str, str] = {
    "did": "parallel_trends", "event_study": "parallel_trends",
    "triple_difference": "parallel_trends_ddd", "rdd": "continuity",
    "bayesian_multilevel": "exchangeable_groups", "pooled_groups": "exchangeable_groups",
    "propensity_matching": "no_unmeasured_confounding", "ipw": "no_unmeasured_confounding",
    "aipw": "no_unmeasured_confounding", "dml": "no_unmeasured_confounding",
}
RANDOMISED = ("randomized", "randomised")


def assumption_key(estimator: str, estimand: str, assignment: str) -> str | None:
    """The catalogue key for an estimate (None: no sentence known)."""
    if estimator == "bayesian_multilevel" and estimand == "dose_response":
        return "exchangeable_groups_dose"
    if estimator in BY_ESTIMATOR:
        return BY_ESTIMATOR[estimator]
    if assignment in RANDOMISED:
        return "randomised_late" if estimand == "LATE" else "randomised"
    if estimator == "naive":
        return "naive"
    if assignment == "observational":
        return "no_unmeasured_confounding"
    return None


def text(key: str, lang: str = "en") -> str:
    """The sentence of ``key`` in ``lang`` (en or nl; English when there is no such
    language), from the message catalogue."""
    from causal.messages import LANGS, t

    return t(f"assumes.{key}", lang if lang in LANGS else "en")


def keys() -> list[str]:
    """Every assumption key the catalogue knows."""
    from causal.messages import catalogue

    return sorted(catalogue()["en"]["assumes"])


def state_assumptions(study, estimates) -> None:
    """Set ``diagnostics["assumes"]`` (English) and ``["assumes_key"]`` on every estimate
    with a number that does not say it already."""
    assignment = study.spec.treatment.assignment
    for e in estimates:
        if e.net is None or "assumes" in e.diagnostics:
            continue
        key = assumption_key(e.estimator, e.estimand, assignment)
        if key is not None:
            e.diagnostics["assumes"] = text(key)
            e.diagnostics["assumes_key"] = key


__all__ = ["assumption_key", "keys", "text", "state_assumptions"]
