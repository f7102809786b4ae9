"""Stress scenarios of the duration twin (benefit spells; documented in
:mod:`causal.twins.stress`)."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from causal.twins.stress.base import Expect, Stress, _z


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
