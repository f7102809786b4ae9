"""Synthetic twins: data that look like a measure's population, with a known true effect.

A generator is registered with :func:`twin` together with a pydantic model of its own
parameters (unknown parameters are errors). ``make_twin(spec)`` reads the spec's
``simulation`` block, picks the generator, and returns a :class:`Twin`: the data and the
true effects by estimand, in the outcome's scale (percentage points for binary outcomes).
Twins are deterministic by seed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from causal.errors import SpecError
from causal.registry import LazyRegistry, first_error
from causal.spec_yaml import when as _when
from causal.twins.stress import AnyStress, check_applies

if TYPE_CHECKING:
    import pandas as pd

    from causal.spec import Simulation, Spec

#: generator name -> module that registers it.
MODULES: dict[str, str] = {
    "individual": "causal.twins.individual",
    "panel": "causal.twins.panel",
    "threshold": "causal.twins.threshold",
    "duration": "causal.twins.duration",
    "regions": "causal.twins.regions",
    "dynamic": "causal.twins.dynamic",
    "series": "causal.twins.series",
    "groups": "causal.twins.groups",
}


def _date(v: str) -> str:
    _when(v)
    return v


def _ordered(v: tuple[str, str]) -> tuple[str, str]:
    if _when(v[0]) > _when(v[1]):
        raise ValueError(f"the first date ({v[0]}) is after the second ({v[1]})")
    return v


#: a share or probability, 0 to 1
Share = Annotated[float, Field(ge=0, le=1)]
#: a date in a generator's parameters, e.g. ``2018-01-01``
DateStr = Annotated[str, AfterValidator(_date)]
#: a (first, last) pair of dates, first not after last
DateRange = Annotated[tuple[DateStr, DateStr], AfterValidator(_ordered)]


class TwinParams(BaseModel):
    """Base for generator parameters (``generator``, ``n``, ``seed`` are common)."""

    model_config = ConfigDict(extra="forbid")
    generator: str
    n: Annotated[int, Field(gt=0)]
    seed: Annotated[int, Field(ge=0)]
    #: stress scenarios (causal.twins.stress): each breaks one assumption, as documented there.
    stress: list[AnyStress] = []
    #: the person traits this generator's ``selection`` and ``outcome_effects`` may name.
    TRAITS: ClassVar[tuple[str, ...]] = ()

    @field_validator("selection", "outcome_effects", check_fields=False)
    @classmethod
    def _known_traits(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [k for k in value if k not in cls.TRAITS]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not a person trait of this twin; expected "
                             f"one of: {', '.join(cls.TRAITS)}")
        return value

    @field_validator("stress")
    @classmethod
    def _stress_applies(cls, value: list, info: ValidationInfo) -> list:
        check_applies(value, str(info.data.get("generator", "")))
        return value


class PopulationParams(TwinParams):
    """Who is in a twin: the parameters of :func:`causal.twins.population.population`."""

    age: tuple[float, float] = (45, 67)
    inflow: DateRange = ("2017-01-01", "2018-12-31")
    female_share: Share = 0.45
    education_shares: tuple[float, float, float, float, float] = (0.30, 0.38, 0.07, 0.18, 0.07)
    health_share: Share = 0.30
    benefit_months_mean: float = 18.0
    below_aow: bool = False

    def draw_population(self, rng, regions: list[str] | None = None) -> pd.DataFrame:
        """``n`` persons with these parameters (deterministic given ``rng``); ``regions``
        restricts them to those arbeidsmarktregio's."""
        from causal.twins.population import population

        return population(self.n, rng, age=self.age, inflow=self.inflow, regions=regions,
                          female_share=self.female_share,
                          education_shares=self.education_shares,
                          health_share=self.health_share,
                          benefit_months_mean=self.benefit_months_mean,
                          below_aow=self.below_aow)


class OutcomeParams(BaseModel):
    """The outcome model the individual and regions twins share. Calibrated to seed notes
    000 §6/§7: regional WW exit to work 2016 -> 2018 rose for ages 50-60 from 55-67% to
    64-76%, for 60+ from 25-34% to 35-42%, which gives logit -0.18 per point of unemployment
    and -1.0 per year within 5 years of the AOW date (checked in
    tests/test_context_twins.py)."""

    model_config = ConfigDict(extra="forbid")
    cycle_effect: float = -0.18
    aow_effect: float = -1.0
    outcome_effects: dict[str, float] = {"education": 0.15, "health_limitation": -0.5,
                                         "benefit_months": -0.02, "sex": 0.0}
    continuous_sd: float = 10.0
    kind: Literal["binary", "continuous"] | None = None


@dataclass
class Twin:
    """A synthetic study population and the truth it was made with."""

    data: pd.DataFrame
    truth: dict[str, float]
    description: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GeneratorInfo:
    name: str
    make: Callable[..., Twin]
    params: type[TwinParams]


_REGISTRY: LazyRegistry[GeneratorInfo] = LazyRegistry(MODULES)


def twin(name: str, params: type[TwinParams]):
    """Decorator registering ``make(params, spec, rng) -> Twin`` under ``name``."""

    def deco(fn):
        _REGISTRY.add(name, GeneratorInfo(name, fn, params))
        return fn

    return deco


def get(name: str) -> GeneratorInfo:
    return _REGISTRY.load(name)


def available() -> list[str]:
    return _REGISTRY.available()


def validate_simulation(sim: "Simulation", *, file: str, line: int | None = None) -> TwinParams:
    try:
        info = get(sim.generator)
    except KeyError:
        raise SpecError(file, "simulation.generator",
                        f"expected one of: {', '.join(available())}", line=line,
                        got=sim.generator) from None
    try:
        return info.params.model_validate(sim.model_dump())
    except ValidationError as e:
        loc, kind, msg, got = first_error(e)
        what = (f"is not a parameter of the '{sim.generator}' generator"
                if kind == "extra_forbidden" else msg)
        raise SpecError(file, f"simulation.{loc}", what, line=line, got=got) from None


def twin_params(spec: "Spec", seed: int | None = None, n: int | None = None,
                stress: list[Any] | None = None, **overrides: Any) -> TwinParams:
    """The validated generator parameters of the spec's twin (see :func:`make_twin`)."""
    if spec.simulation is None:
        raise SpecError(str(spec.path), "simulation",
                        "this spec has no simulation block, so it has no synthetic twin; "
                        "run it on data with --data FILE")
    raw = spec.simulation.model_dump()
    if seed is not None:
        raw["seed"] = seed
    if n is not None:
        raw["n"] = n
    raw.update(overrides)
    if stress:
        raw["stress"] = [*(raw.get("stress") or []), *stress]
    info = get(raw["generator"])
    try:
        return info.params.model_validate(raw)
    except ValidationError as e:  # an override (n, seed) the spec's own check did not see
        loc, _, msg, got = first_error(e)
        raise SpecError(str(spec.path), f"simulation.{loc}", msg, got=got) from None


def make_twin(spec: "Spec", seed: int | None = None, n: int | None = None,
              stress: list[Any] | None = None, **overrides: Any) -> Twin:
    """Generate the spec's twin. ``seed``/``n``/``overrides`` replace the spec's values;
    ``stress`` (scenario names or dicts, :mod:`causal.twins.stress`) is added to the spec's
    own stress scenarios."""
    import numpy as np

    params = twin_params(spec, seed, n, stress, **overrides)
    info = get(params.generator)
    rng = np.random.default_rng(params.seed)
    for s in params.stress:
        params = s.adjust(params)
    try:
        tw = info.make(params, spec, rng)
        if params.stress:
            tw.extras["stress"] = [s.model_dump() for s in params.stress]
            tw.description += "; stressed: " + ", ".join(s.label() for s in params.stress)
        return tw
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        # parameters that pass their checks one by one but cannot make a twin together
        # (an age range past the AOW age, a period with nobody before it, ...)
        raise SpecError(str(spec.path), "simulation",
                        f"these parameters cannot make a '{params.generator}' twin: {e}") from None
