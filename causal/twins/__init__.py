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
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from causal.errors import SpecError
from causal.registry import LazyRegistry, first_error

if TYPE_CHECKING:
    from causal.spec import Simulation, Spec

#: generator name -> module that registers it.
MODULES: dict[str, str] = {
    "individual": "causal.twins.individual",
    "panel": "causal.twins.panel",
    "threshold": "causal.twins.threshold",
    "duration": "causal.twins.duration",
    "regions": "causal.twins.regions",
}


class TwinParams(BaseModel):
    """Base for generator parameters (``generator``, ``n``, ``seed`` are common)."""

    model_config = ConfigDict(extra="forbid")
    generator: str
    n: int
    seed: int


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


def make_twin(spec: "Spec", seed: int | None = None, n: int | None = None,
              **overrides: Any) -> Twin:
    """Generate the spec's twin. ``seed``/``n``/``overrides`` replace the spec's values."""
    import numpy as np

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
    info = get(raw["generator"])
    params = info.params.model_validate(raw)
    rng = np.random.default_rng(params.seed)
    return info.make(params, spec, rng)
