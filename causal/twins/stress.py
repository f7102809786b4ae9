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
"""
from __future__ import annotations

import hashlib
import math
from typing import Annotated, Any, ClassVar, Literal, Union

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Expect = Literal["unbiased", "widen", "warn", "refuse"]


class Stress(BaseModel):
    """Base of a scenario: its parameters are the pydantic fields (unknown ones are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    #: generators the scenario applies to
    GENERATORS: ClassVar[tuple[str, ...]] = ()
    #: what an honest estimator does under it (module doc)
    EXPECT: ClassVar[Expect] = "unbiased"
    #: per estimand prefix, when it differs from EXPECT (e.g. ITT holds, LATE cannot)
    EXPECT_BY_ESTIMAND: ClassVar[dict[str, Expect]] = {}
    #: one plain sentence: what changes in the twin
    WHAT: ClassVar[str] = ""
    #: one plain sentence: what an honest estimator should do, and why
    HONEST: ClassVar[str] = ""

    def rng(self, seed: int) -> np.random.Generator:
        """The scenario's own random stream (independent of the twin's main stream)."""
        tag = int.from_bytes(hashlib.sha256(self.name.encode()).digest()[:4], "little")
        return np.random.default_rng([int(seed), tag])

    def expect(self, estimand: str) -> Expect:
        for prefix, e in self.EXPECT_BY_ESTIMAND.items():
            if estimand.startswith(prefix):
                return e
        return self.EXPECT

    def remedy(self, estimator: str, generator: str) -> dict[str, Any] | None:
        """Estimator options that should make the estimator honest under this stress (None:
        the spec's own options are the honest ones, or nothing can help). Options the
        estimator does not have are left out by the caller (causal.validate)."""
        return None

    def adjust(self, p):
        """The generator's parameters under this stress (default: unchanged)."""
        return p

    def label(self) -> str:
        """Name and non-default parameters, e.g. ``hidden_confounding(reliability=0.5)``."""
        extra = {k: v for k, v in self.model_dump().items()
                 if k != "name" and v != type(self).model_fields[k].default}
        return self.name + ("(" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
                            if extra else "")


def expected_clip(x: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E[clip(x + s, 0, 1)] for s ~ N(0, sd^2) (a censored normal's mean): the chance a
    person would have on average over the shocks, since probabilities are clipped to [0, 1].
    Exact: x (Phi(b) - Phi(a)) + sd (phi(a) - phi(b)) + 1 - Phi(b), a = -x/sd, b = (1-x)/sd."""
    from scipy.stats import norm

    x = np.asarray(x, float)
    sd = np.broadcast_to(np.asarray(sd, float), x.shape)
    out = np.clip(x, 0.0, 1.0).copy()
    m = sd > 0
    if m.any():
        xm, sm = x[m], sd[m]
        a, b = -xm / sm, (1.0 - xm) / sm
        out[m] = (xm * (norm.cdf(b) - norm.cdf(a)) + sm * (norm.pdf(a) - norm.pdf(b))
                  + norm.sf(b))
    return out


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


# --------------------------------------------------------------------------------------
# person-level twins (generator "individual")
# --------------------------------------------------------------------------------------
class HiddenConfounding(Stress):
    """Motivation drives both taking part and the outcome, and the data hold only a proxy of
    it with reliability ``reliability`` (the share of the proxy's variance that is the true
    trait; classical measurement error, so the proxy's noise SD is sqrt(1/r - 1) for a
    standardised trait). A twin whose spec has no motivation in its selection or outcome gets
    ``selection`` and ``outcome`` (logit per SD) for it.

    Honest: adjusting for a noisy proxy leaves a share 1 - r of the confounding in place
    (residual confounding; Cinelli and Hazlett 2020 section 6), so no estimator of this design
    can cover; the sensitivity bound benchmarked on the proxy (a hidden part as strong as the
    proxy) should contain the truth, and the E-value should call the estimate fragile."""

    name: Literal["hidden_confounding"] = "hidden_confounding"
    reliability: Annotated[float, Field(gt=0, le=1)] = 0.5
    selection: float = 0.6
    outcome: float = 0.5
    GENERATORS: ClassVar[tuple[str, ...]] = ("individual",)
    EXPECT: ClassVar[Expect] = "warn"
    WHAT: ClassVar[str] = ("motivation drives taking part and the outcome; the data hold a proxy "
                           "with reliability r")
    HONEST: ClassVar[str] = ("not identified: residual confounding remains; the benchmarked "
                             "sensitivity bound should contain the truth")

    def adjust(self, p):
        sel = dict(p.selection)
        sel.setdefault("motivation", self.selection)
        if sel["motivation"] == 0:
            sel["motivation"] = self.selection
        return p.model_copy(update={
            "selection": sel, "motivation_observed": True,
            "motivation_effect": p.motivation_effect or self.outcome,
            "motivation_proxy_sd": math.sqrt(1.0 / self.reliability - 1.0)})


class Nonlinear(Stress):
    """Selection and outcome depend on the traits nonlinearly: a U-shape in age and an
    education x health interaction in selection; a hump in age and a benefit-duration x
    education interaction in the outcome (logit scale, ``strength`` per term). The traits are
    all observed, so the effect is identified.

    Honest: estimators that model the propensity or outcome flexibly stay unbiased; one whose
    model is linear in the traits may drift, and a drift beyond half a standard error is a
    defect of its model. Matching and weighting choose their score's terms by AIC
    (``propensity: flexible``, the default; causal.estimators.score_terms) and check the
    balance of squares and interactions; the linear logit drifted by -5 pp on a 2.8 pp truth
    here (issue 17)."""

    name: Literal["nonlinear"] = "nonlinear"
    strength: float = 0.6
    GENERATORS: ClassVar[tuple[str, ...]] = ("individual",)
    EXPECT: ClassVar[Expect] = "unbiased"
    WHAT: ClassVar[str] = "selection and outcome nonlinear in the observed traits"
    HONEST: ClassVar[str] = "identified: flexible estimators stay unbiased"

    def selection_terms(self, x: dict[str, np.ndarray]) -> np.ndarray:
        a, e, h = _z(x["age"]), _z(x["education"]), _z(x["health_limitation"])
        return self.strength * ((a ** 2 - 1.0) + e * h)

    def outcome_terms(self, x: dict[str, np.ndarray]) -> np.ndarray:
        a, b, e = _z(x["age"]), _z(x["benefit_months"]), _z(x["education"])
        return self.strength * (-(a ** 2 - 1.0) + b * e)



class EffectHeterogeneity(Stress):
    """The effect differs between persons, and those more likely to take part gain more:
    ``tau_i = tau (1 + strength z_i)``, ``z_i`` the standardised selection index of the
    observed traits (in a randomised twin: education), floored at zero effect. ATT and ATE
    now differ. Honest: the effect is identified; every estimator stays unbiased for its own
    estimand (a matching ATT is not an ATE)."""

    name: Literal["effect_heterogeneity"] = "effect_heterogeneity"
    strength: float = 0.8
    GENERATORS: ClassVar[tuple[str, ...]] = ("individual",)
    EXPECT: ClassVar[Expect] = "unbiased"
    WHAT: ClassVar[str] = "effects larger for those more likely to take part"
    HONEST: ClassVar[str] = "identified: unbiased for its own estimand (ATT differs from ATE)"

    def scale(self, index: np.ndarray) -> np.ndarray:
        return np.clip(1.0 + self.strength * _z(index), 0.0, None)


class MisrecordedCompliance(Stress):
    """Receipt of the measure is misrecorded: each person's recorded receipt is wrong with
    probability ``error`` (the outcome follows actual receipt). Assignment is recorded
    correctly. Honest: the ITT does not use receipt and stays unbiased; the complier effect
    (LATE) rests on the recorded first stage, which shrinks by the factor 1 - 2 x error, so
    the LATE grows by 1 / (1 - 2 x error); no estimator can repair that from these data. The
    LATE states that it assumes receipt recorded without error (``assumes``) and gives the
    effect if 5, 10 or 20% of it were wrong (``sensitivity_bounds``, causal.estimators.rct);
    the bias shows against the interval only when the LATE is precise (bias / SE = 2 x error
    x LATE / SE): ``--n 40000`` with ``error=0.15`` on uwv_intensive_services."""

    name: Literal["misrecorded_compliance"] = "misrecorded_compliance"
    error: Annotated[float, Field(ge=0, lt=0.5)] = 0.10
    GENERATORS: ClassVar[tuple[str, ...]] = ("individual",)
    EXPECT: ClassVar[Expect] = "unbiased"
    EXPECT_BY_ESTIMAND: ClassVar[dict[str, Expect]] = {"LATE": "warn"}
    WHAT: ClassVar[str] = "recorded receipt wrong for a share of persons"
    HONEST: ClassVar[str] = ("ITT unbiased; LATE not identified (misrecorded first stage): "
                             "states the assumption and the LATE if 5-20% were misrecorded")

    def record(self, received: np.ndarray, seed: int) -> np.ndarray:
        flip = self.rng(seed).random(len(received)) < self.error
        return np.where(flip, 1 - received, received).astype(int)


class PeerEffects(Stress):
    """The treated are trained in groups of about ``group_size`` (by region and inflow date);
    each training group shares a trainer whose quality moves the effect of all its members by
    a draw of SD ``shock_sd_pp`` points (a cluster-level random effect: the truth is the
    effect with an average trainer), and ``displacement_pp`` > 0 lowers the outcome of the
    untreated by that many points times the treated share of their region and inflow quarter
    (they compete for the same vacancies). The column ``training_group`` holds the group
    (each untreated person is their own group).

    Honest: trainer shocks make outcomes dependent within groups, so an interval that treats
    persons as independent is too narrow: cluster by ``training_group``. Displacement breaks
    the no-interference assumption (SUTVA): the comparison overstates the effect and no
    person-level design identifies it; honest is a warning."""

    name: Literal["peer_effects"] = "peer_effects"
    group_size: Annotated[int, Field(ge=2)] = 15
    shock_sd_pp: Annotated[float, Field(ge=0)] = 8.0
    displacement_pp: Annotated[float, Field(ge=0)] = 0.0
    column: str = "training_group"
    GENERATORS: ClassVar[tuple[str, ...]] = ("individual",)
    EXPECT: ClassVar[Expect] = "widen"
    WHAT: ClassVar[str] = "the effect shared within training groups (trainer quality)"
    HONEST: ClassVar[str] = "identified, but persons are dependent: cluster by training group"

    def groups(self, treated: np.ndarray, region: np.ndarray, inflow: np.ndarray) -> np.ndarray:
        """Training group per person: consecutive treated persons (by region, inflow date) in
        chunks of ``group_size``; untreated persons get their own group each."""
        n = len(treated)
        out = np.empty(n, dtype=np.int64)
        idx = np.flatnonzero(treated)
        order = idx[np.lexsort((inflow[idx], region[idx]))]
        out[order] = np.arange(len(order)) // self.group_size
        k = int(out[order].max()) + 1 if len(order) else 0
        rest = np.flatnonzero(~treated)
        out[rest] = k + np.arange(len(rest))
        return out

    def shocks(self, group: np.ndarray, treated: np.ndarray, seed: int) -> np.ndarray:
        """The trainer shock (probability scale) per person; zero for the untreated."""
        k = int(group[treated].max()) + 1 if treated.any() else 0
        draw = self.rng(seed).normal(0.0, self.shock_sd_pp / 100.0, max(k, 1))
        return np.where(treated, draw[np.minimum(group, max(k - 1, 0))], 0.0)

    def remedy(self, estimator: str, generator: str) -> dict[str, Any] | None:
        return {"cluster": self.column}


class InformativeCensoring(Stress):
    """Spells are censored (the person moves, drops out of the data) more often, at a
    monthly hazard ``rate`` that rises by ``strength`` on the log scale per SD of the
    person's observed job-finding index (education, health, sex) and is ``arm_ratio`` times
    higher among the controls (digital services only: more drop out of sight). Censoring
    then depends on who would find work, but only through observed traits and the arm.

    Honest: a plain Kaplan-Meier / Aalen-Johansen comparison assumes censoring independent
    of the exit hazards; the duration estimator assumes it given the covariates and the arm
    (its hazards are logits on both), which still holds, so it should stay unbiased and
    cover (Allison 1982; Andersen, Borgan, Gill and Keiding 1993 on independent censoring)."""

    name: Literal["informative_censoring"] = "informative_censoring"
    rate: Annotated[float, Field(gt=0, lt=0.5)] = 0.04
    strength: float = 1.0
    arm_ratio: Annotated[float, Field(gt=0)] = 1.5
    GENERATORS: ClassVar[tuple[str, ...]] = ("duration",)
    EXPECT: ClassVar[Expect] = "unbiased"
    WHAT: ClassVar[str] = ("censoring more frequent, tied to observed job-finding traits and "
                           "higher among controls")
    HONEST: ClassVar[str] = ("identified (censoring independent given covariates and arm): "
                             "the covariate-adjusted hazards stay unbiased")

    def hazard(self, index: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Monthly censoring hazard per person (capped at 0.5)."""
        h = self.rate * np.exp(self.strength * _z(index)) * np.where(z == 0, self.arm_ratio, 1.0)
        return np.minimum(h, 0.5)


# --------------------------------------------------------------------------------------
# shocks shared by a group in a period (individual and panel twins)
# --------------------------------------------------------------------------------------


class GroupPeriodShocks(Stress):
    """Every group in every period gets a common shock to its outcome of SD ``sd_pp`` points
    (probability scale): a sector's bad year, a region's plant closure. ``by: group`` shocks
    the sectors (the panel twin splits each adoption group into ``clusters`` sectors, column
    ``column``); ``by: region`` shocks the 35 arbeidsmarktregio's by year (individual twins:
    by inflow year; threshold twins: by calendar month of the spell (RDD) or by year (triple
    difference), on top of that twin's own ``region_year_sd_pp``). The effect is unchanged
    and identified.

    Honest: persons who share a shock are not independent, so errors clustered by person (or
    none) are too narrow; clustered at the level of the shock (``cluster: <column>``) the
    interval widens and covers, with enough clusters; with few (fewer than about 20-40) only
    a wild cluster bootstrap keeps its level (Cameron, Gelbach and Miller 2008)."""

    name: Literal["group_period_shocks"] = "group_period_shocks"
    by: Literal["group", "region"] | None = None
    sd_pp: Annotated[float, Field(ge=0)] = 2.0
    clusters: Annotated[int, Field(ge=1)] = 8
    column: str = "sector_detail"
    GENERATORS: ClassVar[tuple[str, ...]] = ("panel", "individual", "threshold")
    EXPECT: ClassVar[Expect] = "widen"
    WHAT: ClassVar[str] = "a common shock per group and period"
    HONEST: ClassVar[str] = ("identified; errors must be clustered at the shock's level "
                             "(wild bootstrap with few clusters)")

    def level(self, generator: str) -> str:
        """``group`` or ``region``: where the shocks fall (default: sectors in a panel,
        regions in a person-level twin)."""
        if self.by is not None:
            return self.by
        return "group" if generator == "panel" else "region"

    def check_level(self, generator: str) -> None:
        if generator != "panel" and self.level(generator) != "region":
            raise ValueError(f"group_period_shocks in a '{generator}' twin fall on regions "
                             "(by: region)")

    def cluster_column(self, generator: str) -> str:
        return self.column if self.level(generator) == "group" else "region"

    def split(self, gidx: np.ndarray, names: list[str], seed: int) -> np.ndarray:
        """Panel twin, ``by: group``: each unit's sector within its adoption group
        (``<group>_<k>``, ``clusters`` sectors per group, sizes drawn unequal)."""
        rng = self.rng(seed)
        out = np.empty(len(gidx), dtype=object)
        for j, nm in enumerate(names):
            m = np.flatnonzero(gidx == j)
            w = rng.dirichlet(np.full(self.clusters, 4.0))
            k = rng.choice(self.clusters, size=len(m), p=w)
            out[m] = [f"{nm}_{i + 1}" for i in k]
        return out

    def shocks(self, cells: np.ndarray, seed: int) -> np.ndarray:
        """One shock (probability scale) per distinct value of ``cells`` (group x period
        codes), broadcast to the rows; cells get their draw in sorted order."""
        uniq, inv = np.unique(cells, return_inverse=True)
        draw = self.rng(seed + 1).normal(0.0, self.sd_pp / 100.0, len(uniq))
        return draw[inv.reshape(np.shape(cells))]

    def remedy(self, estimator: str, generator: str) -> dict[str, Any] | None:
        return {"cluster": self.cluster_column(generator)}


# --------------------------------------------------------------------------------------
# group-level twins (generator "regions": the multilevel model's)
# --------------------------------------------------------------------------------------
class FewGroups(Stress):
    """Only the ``groups`` largest groups (regions or projects) remain. The between-group SD
    of the effect rests on a handful of groups. Honest: the pooled interval widens (partial
    pooling with a weakly informative prior; Gelman 2006 on few groups) and still covers."""

    name: Literal["few_groups"] = "few_groups"
    groups: Annotated[int, Field(ge=2)] = 5
    GENERATORS: ClassVar[tuple[str, ...]] = ("regions",)
    EXPECT: ClassVar[Expect] = "widen"
    WHAT: ClassVar[str] = "only a few groups"
    HONEST: ClassVar[str] = "identified; the interval widens with few groups"

    def keep(self, names: list[str], sizes: np.ndarray) -> list[int]:
        """Indices of the groups kept: the largest, in their original order."""
        top = np.argsort(-sizes, kind="stable")[: self.groups]
        return sorted(int(i) for i in top)


class _GroupEffectShape(Stress):
    size_correlation: Annotated[float, Field(ge=-1, le=1)] = 0.0
    GENERATORS: ClassVar[tuple[str, ...]] = ("regions",)
    EXPECT: ClassVar[Expect] = "unbiased"

    def standard(self, G: int, seed: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def effects(self, G: int, sizes: np.ndarray, seed: int) -> np.ndarray:
        """Standardised group effects (mean 0, SD 1 in the population of groups), mixed
        with the standardised log group size when ``size_correlation`` is set."""
        u = self.standard(G, seed)
        if self.size_correlation and G > 2:
            s = _z(np.log(sizes))
            c = self.size_correlation
            u = c * s + math.sqrt(1.0 - c * c) * u
        return u


class SkewedGroupEffects(_GroupEffectShape):
    """Group effects drawn from a right-skewed distribution (a centred chi-square with 2
    degrees of freedom, scaled to SD 1: a few groups gain much more) instead of a normal;
    ``size_correlation`` makes them correlate with (log) group size. Honest: the pooled
    average of a normal random-effects model stays about unbiased when the shape is wrong
    (McCulloch and Neuhaus 2011); with size-correlated effects the person-weighted average
    differs from the group average, and an estimator should target the one it reports."""

    name: Literal["skewed_group_effects"] = "skewed_group_effects"
    WHAT: ClassVar[str] = "right-skewed group effects"
    HONEST: ClassVar[str] = "identified: the pooled average stays about unbiased"

    def standard(self, G: int, seed: int) -> np.ndarray:
        return (self.rng(seed).chisquare(2.0, G) - 2.0) / 2.0


class HeavyTailedGroupEffects(_GroupEffectShape):
    """Group effects drawn from a Student t with ``df`` degrees of freedom (scaled to SD 1
    for df > 2): mostly alike, a few far off. Honest: as for skewed group effects, the
    pooled average stays about unbiased; outlying groups are shrunk too far."""

    name: Literal["heavy_tailed_group_effects"] = "heavy_tailed_group_effects"
    df: Annotated[float, Field(gt=2)] = 3.0
    WHAT: ClassVar[str] = "heavy-tailed group effects"
    HONEST: ClassVar[str] = "identified: the pooled average stays about unbiased"

    def standard(self, G: int, seed: int) -> np.ndarray:
        return self.rng(seed).standard_t(self.df, G) / math.sqrt(self.df / (self.df - 2.0))


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


__all__ = ["Stress", "SCENARIOS", "AnyStress", "active", "check_applies", "parse", "describe",
           "relevant", "verdict"]
