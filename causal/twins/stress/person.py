"""Stress scenarios of the person-level twins (generator ``individual``; documented in
:mod:`causal.twins.stress`)."""
from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from causal.twins.stress.base import Expect, PersonStress, _z


class HiddenConfounding(PersonStress):
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


class Nonlinear(PersonStress):
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
    WHAT: ClassVar[str] = "selection and outcome nonlinear in the observed traits"
    HONEST: ClassVar[str] = "identified: flexible estimators stay unbiased"

    def selection_terms(self, x: dict[str, np.ndarray]) -> np.ndarray:
        a, e, h = _z(x["age"]), _z(x["education"]), _z(x["health_limitation"])
        return self.strength * ((a ** 2 - 1.0) + e * h)

    def outcome_terms(self, x: dict[str, np.ndarray]) -> np.ndarray:
        a, b, e = _z(x["age"]), _z(x["benefit_months"]), _z(x["education"])
        return self.strength * (-(a ** 2 - 1.0) + b * e)



class EffectHeterogeneity(PersonStress):
    """The effect differs between persons, and those more likely to take part gain more:
    ``tau_i = tau (1 + strength z_i)``, ``z_i`` the standardised selection index of the
    observed traits (in a randomised twin: education), floored at zero effect. ATT and ATE
    now differ. Honest: the effect is identified; every estimator stays unbiased for its own
    estimand (a matching ATT is not an ATE)."""

    name: Literal["effect_heterogeneity"] = "effect_heterogeneity"
    strength: float = 0.8
    WHAT: ClassVar[str] = "effects larger for those more likely to take part"
    HONEST: ClassVar[str] = "identified: unbiased for its own estimand (ATT differs from ATE)"

    def scale(self, index: np.ndarray) -> np.ndarray:
        return np.clip(1.0 + self.strength * _z(index), 0.0, None)


class MisrecordedCompliance(PersonStress):
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
    EXPECT_BY_ESTIMAND: ClassVar[dict[str, Expect]] = {"LATE": "warn"}
    WHAT: ClassVar[str] = "recorded receipt wrong for a share of persons"
    HONEST: ClassVar[str] = ("ITT unbiased; LATE not identified (misrecorded first stage): "
                             "states the assumption and the LATE if 5-20% were misrecorded")

    def record(self, received: np.ndarray, seed: int) -> np.ndarray:
        flip = self.rng(seed).random(len(received)) < self.error
        return np.where(flip, 1 - received, received).astype(int)


class PeerEffects(PersonStress):
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
