"""Stress scenarios of the group-level twins (generator ``regions``: the multilevel
model's; documented in :mod:`causal.twins.stress`)."""
from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from causal.twins.stress.base import Expect, Stress, _z


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
