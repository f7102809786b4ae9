"""What each interval assumes: one short plain sentence per design, in English and Dutch,
put next to every headline as ``diagnostics["assumes"]`` (and ``diagnostics["assumes_key"]``,
the catalogue key, so a renderer can show the Dutch text).

An interval covers the truth only when its design's identifying assumption holds; the
stress scenarios (:mod:`causal.twins.stress`) show what happens when it does not. The
sentences state the assumption that no data can check (Imbens and Rubin 2015, ch. 3 and 12;
Angrist and Pischke 2009 for IV, DiD and RD). Estimators that know better (an interrupted
time series, a synthetic control) set their own ``assumes`` and are left alone.

Kept here until the message catalogue (``causal/messages.py``, issue 16) takes them over.
"""
from __future__ import annotations

#: key -> {"en": ..., "nl": ...}
CATALOGUE: dict[str, dict[str, str]] = {
    "randomised": {
        "en": "Assumes assignment was random (as good as a lottery), so both groups would "
              "have fared alike without the measure.",
        "nl": "Veronderstelt dat de toewijzing willekeurig was (zo goed als een loting), zodat "
              "beide groepen het zonder de maatregel even goed hadden gedaan."},
    "randomised_late": {
        "en": "Assumes assignment was random, affected the outcome only through taking part "
              "(exclusion restriction), no one did the opposite of their assignment "
              "(monotonicity), and taking part is recorded correctly.",
        "nl": "Veronderstelt dat de toewijzing willekeurig was, de uitkomst alleen via "
              "deelname beïnvloedde (exclusierestrictie), dat niemand het tegenovergestelde "
              "van de toewijzing deed (monotoniciteit) en dat deelname juist is vastgelegd."},
    "no_unmeasured_confounding": {
        "en": "Assumes no unmeasured confounding: given the measured traits, taking part is "
              "unrelated to what would have happened anyway, and comparable persons exist in "
              "both groups (overlap).",
        "nl": "Veronderstelt geen ongemeten confounding: gegeven de gemeten kenmerken hangt "
              "deelname niet samen met wat er anders was gebeurd, en in beide groepen zijn "
              "vergelijkbare personen (overlap)."},
    "naive": {
        "en": "Assumes nothing differs between participants and non-participants but the "
              "measure (a plain comparison, nothing adjusted).",
        "nl": "Veronderstelt dat deelnemers en niet-deelnemers alleen in de maatregel "
              "verschillen (een kale vergelijking, nergens voor gecorrigeerd)."},
    "parallel_trends": {
        "en": "Assumes parallel trends: without the measure, the treated and the comparison "
              "group would have moved alike, and no one changed course in anticipation.",
        "nl": "Veronderstelt parallelle trends: zonder de maatregel waren de behandelde en de "
              "vergelijkingsgroep gelijk opgelopen, en niemand liep erop vooruit."},
    "parallel_trends_ddd": {
        "en": "Assumes the gap between the age bands would have moved alike in the eligible "
              "and the comparison group without the measure (parallel trends in the "
              "difference).",
        "nl": "Veronderstelt dat het verschil tussen de leeftijdsgroepen zonder de maatregel in "
              "de doelgroep en de vergelijkingsgroep gelijk was verlopen."},
    "continuity": {
        "en": "Assumes continuity at the cutoff: persons just below and just above it would "
              "have had the same outcome without the measure, and no one sorted around it.",
        "nl": "Veronderstelt continuïteit bij de grens: personen net onder en net boven de "
              "grens hadden zonder de maatregel dezelfde uitkomst gehad, en niemand schoof "
              "rond de grens."},
    "exchangeable_groups": {
        "en": "Assumes exchangeable groups: the groups' effects are draws from one common "
              "distribution, and within groups no unmeasured confounding.",
        "nl": "Veronderstelt uitwisselbare groepen: de effecten per groep komen uit één "
              "gemeenschappelijke verdeling, en binnen groepen geen ongemeten confounding."},
    "exchangeable_groups_dose": {
        "en": "Assumes exchangeable groups, and that nothing else that moved a group's "
              "outcome is tied to its dose.",
        "nl": "Veronderstelt uitwisselbare groepen, en dat niets anders wat de uitkomst van "
              "een groep bewoog samenhangt met de dosis."},
}

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
    language)."""
    entry = CATALOGUE[key]
    return entry.get(lang, entry["en"])


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


__all__ = ["CATALOGUE", "assumption_key", "text", "state_assumptions"]
