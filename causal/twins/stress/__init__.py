"""Stress scenarios: twins that break one assumption of the estimators, on purpose.

A twin made from its spec's ``simulation`` block satisfies the assumptions its estimators
make (selection on observed traits, a confounder measured without error, independent
persons, normal group effects). The coverage table of such twins shows that the code
computes what it claims; it does not show what happens on data that break an assumption.
A **stress** changes the twin in one documented way, declared in the spec,

    simulation:
      generator: individual
      stress: [hidden_confounding, {name: group_period_shocks, sd_pp: 2}]

or chosen on the command line (``causal validate SPEC --stress hidden_confounding``).
Each scenario says what an honest estimator should do under it (:attr:`Stress.EXPECT`):

- ``unbiased``: the design still identifies the effect; the estimator should stay unbiased
  and cover (a failure is a defect of the estimator or of its model);
- ``widen``: the effect is identified but the persons are not independent (or the groups are
  few); the interval should widen so that it still covers (a failure is a defect, often of
  the options: cluster at the level of the shock, :attr:`Stress.REMEDY`);
- ``warn``: the design cannot identify the effect under this stress, so no interval can be
  trusted to cover; honest is an estimate that says so (a warning, or a sensitivity bound
  that contains the truth);
- ``refuse``: no number should be given at all.

Every scenario draws its random numbers from its own stream (``numpy`` ``default_rng`` seeded
by the twin's seed and the scenario's name), so a stressed twin differs from the unstressed
one only in what the scenario documents, and an unstressed twin is bit-identical to what it
was before stress scenarios existed. Deterministic by seed, like every twin.

The scenarios live by family: :mod:`.person` (individual twins), :mod:`.shocks` (group x
period shocks), :mod:`.groups` (the regions twin), :mod:`.spells` (the duration twin);
:mod:`.base` holds their base class, this module the registry.
"""
from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BeforeValidator, Field

from causal.twins.stress.base import Expect, PersonStress, Stress, expected_clip
from causal.twins.stress.groups import FewGroups, HeavyTailedGroupEffects, SkewedGroupEffects
from causal.twins.stress.person import (
    EffectHeterogeneity,
    HiddenConfounding,
    MisrecordedCompliance,
    Nonlinear,
    PeerEffects,
)
from causal.twins.stress.shocks import GroupPeriodShocks
from causal.twins.stress.spells import InformativeCensoring

SCENARIOS: dict[str, type[Stress]] = {c.model_fields["name"].default: c for c in (
    HiddenConfounding, Nonlinear, EffectHeterogeneity, GroupPeriodShocks, FewGroups,
    SkewedGroupEffects, HeavyTailedGroupEffects, MisrecordedCompliance, PeerEffects,
    InformativeCensoring)}


def _by_name(v: Any) -> Any:
    """A bare name (``hidden_confounding``) means the scenario with its default parameters;
    ``name:key=value,key=value`` sets some (the command line's ``--stress``)."""
    if isinstance(v, str):
        nm, _, rest = v.partition(":")
        d: dict[str, Any] = {"name": nm.strip()}
        for kv in filter(None, (x.strip() for x in rest.split(","))):
            k, eq, val = kv.partition("=")
            if not eq:
                raise ValueError(f"stress '{v}': expected key=value after the colon, got '{kv}'")
            d[k.strip()] = val.strip()
        v = d
    if isinstance(v, dict) and v.get("name") not in SCENARIOS:
        raise ValueError(f"unknown stress scenario '{v.get('name')}'; expected one of: "
                         f"{', '.join(SCENARIOS)}")
    return v


AnyStress = Annotated[Union[tuple(SCENARIOS.values())],  # noqa: UP007 - a runtime union
                      Field(discriminator="name"), BeforeValidator(_by_name)]


def check_applies(stresses: list[Stress], generator: str) -> None:
    """ValueError when a scenario does not apply to ``generator`` or is given twice."""
    seen: set[str] = set()
    for s in stresses:
        if generator not in s.GENERATORS:
            raise ValueError(f"the stress '{s.name}' does not apply to the '{generator}' "
                             f"generator (it applies to: {', '.join(s.GENERATORS)})")
        if s.name in seen:
            raise ValueError(f"the stress '{s.name}' is given twice")
        seen.add(s.name)


def active(stresses: list[Stress]) -> dict[str, Stress]:
    """name -> scenario of the twin's stresses."""
    return {s.name: s for s in stresses}


def parse(items: list[str | dict]) -> list[Stress]:
    """Scenarios from names or ``{name: ..., param: ...}`` dicts (``--stress NAME`` or
    ``--stress NAME:key=value,key=value``); pydantic's ValidationError on unknown names or
    parameters."""
    from pydantic import TypeAdapter

    return [TypeAdapter(AnyStress).validate_python(it) for it in items]


def relevant(spec) -> list[str]:
    """The scenarios worth a coverage row for this spec: those that apply to its generator
    and design (none when the spec says its effect is not identified)."""
    sim = spec.simulation
    if sim is None or spec.identification.status == "not_identified":
        return []
    gen, design = sim.generator, spec.treatment.assignment
    if gen == "individual" and design == "observational":
        return ["hidden_confounding", "nonlinear", "effect_heterogeneity",
                "group_period_shocks", "peer_effects"]
    if gen == "individual":
        return ["effect_heterogeneity", "peer_effects", "group_period_shocks"] + (
            ["misrecorded_compliance"] if spec.treatment.received else [])
    if gen in ("panel", "threshold"):
        return ["group_period_shocks"]
    if gen == "regions":
        return ["few_groups", "skewed_group_effects", "heavy_tailed_group_effects"]
    if gen == "duration":
        return ["informative_censoring"]
    return []


def verdict(expect: Expect, row: dict[str, Any], flagged: float | None,
            remedy_ok: bool | None = None, remedy: str = "") -> str:
    """Honest failure or defect, from what the scenario expects (:attr:`Stress.EXPECT`) and
    the coverage row (``failed``, ``with_number``): ``flagged`` is the share of replications
    in which a warning or the sensitivity bound flagged the problem; ``remedy_ok`` whether the
    same estimator with the scenario's remedy (clustering) passed (None: there is none)."""
    failed = bool(row.get("failed"))
    cov = row.get("coverage")
    if row.get("with_number") and (cov is None or cov != cov):  # NaN: no interval given
        return ("honest: no interval (too few clusters to separate the effect from the "
                "shocks)" if expect == "widen" else "no interval given")
    if expect == "refuse":
        return "defect: gives a number where none is identified" if row.get(
            "with_number") else "honest: refuses"
    if not failed:
        return "holds" if expect != "warn" else "holds (the stress was too weak to show)"
    if expect == "warn":
        if flagged is not None and flagged >= 0.8:
            return f"honest failure: not identified, flagged in {flagged:.0%} of twins"
        return ("defect: not identified and not flagged" + (
            f" (flagged in {flagged:.0%} of twins)" if flagged is not None else ""))
    if remedy_ok:
        return f"defect of the options: the remedy row{f' [{remedy}]' if remedy else ''} holds"
    if remedy_ok is False:
        return "defect: the remedy row fails too"
    if expect == "widen":
        return "defect: no option to cluster at the shock's level"
    return "defect"


def describe() -> list[dict[str, Any]]:
    """One row per scenario: name, generators, expectation, what changes, honest behaviour."""
    return [{"name": n, "generators": list(c.GENERATORS), "expect": c.EXPECT,
             "expect_by_estimand": dict(c.EXPECT_BY_ESTIMAND), "what": c.WHAT,
             "honest": c.HONEST} for n, c in SCENARIOS.items()]


__all__ = ["Stress", "PersonStress", "Expect", "expected_clip", "SCENARIOS", "AnyStress", "active",
           "check_applies", "parse", "describe", "relevant", "verdict", "EffectHeterogeneity",
           "FewGroups", "GroupPeriodShocks", "HeavyTailedGroupEffects", "HiddenConfounding",
           "InformativeCensoring", "MisrecordedCompliance", "Nonlinear", "PeerEffects",
           "SkewedGroupEffects"]
