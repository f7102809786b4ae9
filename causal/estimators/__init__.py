"""Estimator registry: every spec estimator name maps to a function ``fit(study, options)``.

Each estimator module registers its functions with :func:`estimator`, together with a
pydantic options model (unknown options are errors). Modules import heavy libraries (pymc,
econml, dowhy, linearmodels) inside their functions, so validating a spec stays fast.

The uniform API (in the spirit of scikit-learn's): ``fit(study: Study, options) ->
list[Estimate]``; one estimator may return several estimates (ITT and LATE, say).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from causal.errors import SpecError
from causal.registry import LazyRegistry, first_error

if TYPE_CHECKING:
    from causal.result import Estimate

#: estimator name -> module that registers it (imported on first use).
MODULES: dict[str, str] = {
    "naive": "causal.estimators.naive",
    "rct_difference": "causal.estimators.rct",
    "regression": "causal.estimators.regression",
    "propensity_matching": "causal.estimators.matching",
    "dynamic_matching": "causal.estimators.dynamic_matching",
    "ipw": "causal.estimators.weighting",
    "aipw": "causal.estimators.weighting",
    "dml": "causal.estimators.dml",
    "bayesian_multilevel": "causal.estimators.multilevel",
    "did": "causal.estimators.did",
    "event_study": "causal.estimators.did",
    "triple_difference": "causal.estimators.ddd",
    "rdd": "causal.estimators.rdd",
    "duration": "causal.estimators.duration",
    "interrupted_time_series": "causal.estimators.its",
    "synthetic_control": "causal.estimators.synth",
    "pooled_groups": "causal.estimators.pooling",
}


#: estimator name -> the optional extra it needs (``pip install "netto-effect[EXTRA]"``);
#: estimators not listed need only the core install.
EXTRAS: dict[str, str] = {
    "bayesian_multilevel": "bayes",
    "pooled_groups": "bayes",
    "dml": "ml",
}
#: extra -> the top-level modules it provides
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "bayes": ("pymc", "pytensor", "nutpie", "arviz"),
    "ml": ("econml",),
    "dask": ("dask", "distributed"),
}


def missing_extra(name: str) -> str | None:
    """A sentence naming the extra to install when estimator ``name`` needs one that is not
    installed; None when it can run."""
    import importlib.util

    extra = EXTRAS.get(name)
    if extra is None:
        return None
    gone = [m for m in EXTRA_MODULES[extra] if importlib.util.find_spec(m) is None]
    if not gone:
        return None
    return (f"the estimator '{name}' needs the optional extra '{extra}' ({', '.join(gone)} "
            f"not installed): pip install \"netto-effect[{extra}]\"")


def extra_for_module(module: str) -> str | None:
    """The extra that provides a (possibly dotted) module name, if any."""
    top = module.split(".")[0]
    return next((x for x, mods in EXTRA_MODULES.items() if top in mods), None)


class Options(BaseModel):
    """Base for estimator options: unknown options are errors."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class EstimatorInfo:
    name: str
    fit: Callable[..., list["Estimate"]]
    options: type[Options]
    assignments: tuple[str, ...] | None  # designs it fits; None = any
    doc: str


_REGISTRY: LazyRegistry[EstimatorInfo] = LazyRegistry(MODULES)


def estimator(name: str, options: type[Options] = Options,
              assignments: tuple[str, ...] | None = None):
    """Decorator registering ``fit(study, options) -> list[Estimate]`` under ``name``."""

    def deco(fn: Callable[..., list["Estimate"]]):
        _REGISTRY.add(name, EstimatorInfo(name, fn, options, assignments,
                                          (fn.__doc__ or "").strip()))
        return fn

    return deco


def available() -> list[str]:
    """Estimator names whose module exists in this installation."""
    return _REGISTRY.available()


def get(name: str) -> EstimatorInfo:
    return _REGISTRY.load(name)


def validate_options(est: Any, *, file: str, field: str, line: int | None = None) -> Options:
    """Check an estimator entry of a spec: known name, valid options."""
    try:
        info = get(est.name)
    except KeyError:
        raise SpecError(file, f"{field}.name",
                        f"expected one of the known estimators: {', '.join(available())}",
                        line=line, got=est.name) from None
    try:
        return info.options.model_validate(est.options)
    except ValidationError as e:
        loc, kind, msg, got = first_error(e)
        what = ("is not a known option" if kind == "extra_forbidden"
                else "is required" if kind == "missing" else msg)
        known = ", ".join(info.options.model_fields) or "none"
        raise SpecError(file, f"{field}.options.{loc}", f"{what} (options of {est.name}: {known})",
                        line=line, got=got) from None
