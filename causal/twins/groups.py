"""Twin for group-level evidence: one row per project, region or sector plan.

For the measures of which only a table per group exists (seed notes 000 EP9: Experimenten
Meer Werk, eight projects of 46-362 participants; sector plans and regions report per unit).
Two shapes, as the spec's ``groups`` block reads them:

- ``counts``: persons and successes per arm. Group j's log-odds effect is
  theta_j = mu + tau * z_j (z_j standard normal); its comparison arm's log-odds is
  alpha_j = logit(gross_rate_j) - mu, so the participants' expected rate is close to the
  gross rate the report published. Successes are binomial draws. Truth ``ATT``: the
  participants' average of 100 * (expit(alpha_j + theta_j) - expit(alpha_j)) over the groups,
  weighted by their participants (pp), with the realised theta_j; ``mu`` (mu_logodds, the
  mean of the group effects) and ``new_group``, one more group's effect mu + tau * z drawn
  after the table (log-odds), for the pooled mean's and the prediction's coverage.
- ``estimates``: an effect estimate and its standard error per group. theta_j ~ N(effect_pp,
  effect_sd_pp); the standard error is the binomial one of a difference in rates with the
  group's sizes at its gross rate; the estimate is theta_j plus that error. Truth ``ATT``:
  ``effect_pp``, the mean of the group effects (what the pooled mean estimates); ``mu`` the
  same, ``new_group`` one more group's effect (pp).

``n`` is not used (the groups' sizes are); it is kept because every twin has one.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from causal.twins import Share, Twin, TwinParams, twin


class GroupSize(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_treated: int = Field(ge=2)
    n_control: int = Field(ge=2)
    gross_rate: Share


class GroupsParams(TwinParams):
    shape: Literal["counts", "estimates"] = "counts"
    groups: dict[str, GroupSize] = Field(min_length=2)
    mu_logodds: float = 0.3
    tau_logodds: float = Field(0.3, ge=0)
    effect_pp: float = 5.0
    effect_sd_pp: float = Field(3.0, ge=0)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


@twin("groups", GroupsParams)
def make(params: GroupsParams, spec, rng: np.random.Generator) -> Twin:
    g = spec.groups
    if g is None:
        raise ValueError("the groups generator needs the spec's groups block")
    names = list(params.groups)
    n1 = np.array([params.groups[k].n_treated for k in names])
    n0 = np.array([params.groups[k].n_control for k in names])
    gross = np.clip(np.array([params.groups[k].gross_rate for k in names]), 0.01, 0.99)
    if params.shape == "counts":
        if not g.counts:
            raise ValueError("shape 'counts' needs the count columns in the spec's groups block")
        theta = params.mu_logodds + params.tau_logodds * rng.standard_normal(len(names))
        alpha = np.log(gross / (1 - gross)) - params.mu_logodds
        p1, p0 = _expit(alpha + theta), _expit(alpha)
        data = pd.DataFrame({g.column: names, g.n_treated: n1,
                             g.successes_treated: rng.binomial(n1, p1),
                             g.n_control: n0, g.successes_control: rng.binomial(n0, p0)})
        truth = float(np.sum(n1 * 100 * (p1 - p0)) / n1.sum())
    else:
        if g.counts:
            raise ValueError("shape 'estimates' needs estimate, se and n in the spec's groups block")
        theta = params.effect_pp + params.effect_sd_pp * rng.standard_normal(len(names))
        p1 = gross
        p0 = np.clip(p1 - params.effect_pp / 100, 0.01, 0.99)
        se = 100 * np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        data = pd.DataFrame({g.column: names, g.estimate: theta + se * rng.standard_normal(len(names)),
                             g.se: se, g.n: n1 + n0})
        truth = float(params.effect_pp)
    # drawn last, so the table above is the same with or without it
    mu, tau = ((params.mu_logodds, params.tau_logodds) if params.shape == "counts"
               else (params.effect_pp, params.effect_sd_pp))
    new_group = float(mu + tau * rng.standard_normal())
    return Twin(data=data, truth={"ATT": truth, "mu": float(mu), "new_group": new_group},
                description=f"{len(names)} groups ({params.shape}), true ATT {truth:+.2f} pp")
