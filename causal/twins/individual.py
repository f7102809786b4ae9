"""Twin for person-level designs: randomised (with non-compliance) or observational.

Outcome model (binary): P(Y0=1) = aow_share * logistic(a + b'x + cycle + AOW proximity
+ motivation), with ``a`` solved so the control rate matches ``base_rate``; P(Y1=1) adds the
person's effect ``tau_i`` on the probability scale (``true_effect_pp`` on average, varying
with age when ``effect_age_gradient`` is set). The truth reported is the sample average of
P(Y1) - P(Y0) over the estimand's group (ATE: all, ATT: treated, ITT: all assigned-vs-not,
LATE: compliers), so estimators of those averages should cover it at the nominal rate.

Selection (observational): logit P(D=1) on age, education, benefit duration, health, the
cycle and an unobserved motivation (which also raises the outcome) unless
``motivation_observed`` puts a proxy in the data.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from causal.study import AGE_LABELS, age_group, subgroup_key
from causal.twins import OutcomeParams, PopulationParams, Share, Twin, twin
from causal.twins.population import (
    context_terms,
    logistic,
    solve_intercept,
    standardise,
)
from causal.twins.stress import active, expected_clip


class IndividualParams(PopulationParams, OutcomeParams):
    TRAITS: ClassVar[tuple[str, ...]] = ("age", "education", "benefit_months", "health_limitation",
                                         "sex", "cycle", "months_to_aow", "motivation")
    base_rate: float = 0.30
    true_effect_pp: float = 5.0
    effect_age_gradient: float = 0.0
    share_treated: Share = 0.5
    compliance: Share = 1.0
    always_takers: Share = 0.0
    selection: dict[str, float] = {}
    motivation_effect: float = 0.0
    motivation_observed: bool = False
    #: noise SD of the observed motivation proxy (0: motivation is measured exactly, e.g. by
    #: a baseline survey, so selection on it is selection on observables).
    motivation_proxy_sd: float = 0.5
    #: (with outcome 1, with outcome 0): keep only this many persons of each outcome, as in a
    #: case-control sample (seed notes 002 fn 2); the truth stays that of the population.
    outcome_sample: tuple[int, int] | None = None
    #: treatment assigned by group (municipality, klantmanager, sector): see AssignmentGroups
    assignment_groups: "AssignmentGroups | None" = None


class AssignmentGroups(BaseModel):
    """Treatment assigned to whole groups (a municipality's policy, a klantmanager's way of
    working, a sector's plan; spec ``treatment.assigned_by``): persons are sorted into ``n``
    groups by their selection index plus noise (who a municipality or klantmanager serves
    differs, so the groups differ), and a group is treated with the logistic probability of
    its members' mean selection index, at the spec's share treated. Everyone in a treated
    group is treated. Assumed: persons belong to one group; group membership does not change
    the outcome except through who is in it and the treatment."""

    model_config = ConfigDict(extra="forbid")
    column: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    n: int = Field(ge=2, le=10_000)
    #: SD of the noise added to the selection index before sorting into groups (in units of
    #: the index's SD): 0 sorts perfectly, large values allocate at random.
    sorting_noise: float = Field(1.0, ge=0)


IndividualParams.model_rebuild()


def _group_assignment(g: AssignmentGroups, eta_d: np.ndarray, share: float, randomized: bool,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(group index per person, 0/1 treatment per person) for group-level assignment."""
    n = eta_d.size
    sd = float(np.std(eta_d)) or 1.0
    key = eta_d + rng.normal(0.0, g.sorting_noise * sd, n)
    gid = np.minimum((np.argsort(np.argsort(key)) * g.n) // n, g.n - 1)
    if randomized:
        k = max(1, round(share * g.n))
        zg = np.zeros(g.n, dtype=int)
        zg[rng.choice(g.n, k, replace=False)] = 1
    else:
        eta_g = np.bincount(gid, weights=eta_d, minlength=g.n) / np.bincount(gid, minlength=g.n)
        zg = (rng.random(g.n) < logistic(solve_intercept(eta_g, share) + eta_g)).astype(int)
        if zg.all() or not zg.any():  # both kinds of group, or there is nothing to compare
            zg[np.argsort(eta_g)[0 if zg.all() else -1]] = 1 - zg.all()
    return gid, zg[gid]


@twin("individual", IndividualParams)
def make(p: IndividualParams, spec, rng: np.random.Generator) -> Twin:
    st = active(p.stress)  # stress scenarios (causal.twins.stress); none by default
    df = p.draw_population(rng)
    horizon = spec.outcome.horizon_months or 12
    ctx = context_terms(df, horizon)
    motivation = rng.normal(size=p.n)
    edu = df["education"].cat.codes.to_numpy().astype(float)
    x = {
        "age": df["age"].to_numpy(float), "education": edu,
        "benefit_months": df["benefit_months"].to_numpy(float),
        "health_limitation": df["health_limitation"].to_numpy(float),
        "sex": (df["sex"] == "vrouw").to_numpy(float), "cycle": ctx["cycle"],
        "months_to_aow": ctx["months_to_aow"], "motivation": motivation,
    }

    # --- assignment and receipt ---------------------------------------------------------
    assignment = spec.treatment.assignment
    gid = None
    if assignment == "randomized" and p.assignment_groups is None:
        z = (rng.random(p.n) < p.share_treated).astype(int)
    else:
        eta_d = sum(coef * standardise(x[k]) for k, coef in p.selection.items())
        eta_d = np.asarray(eta_d, dtype=float) + np.zeros(p.n)
        if "nonlinear" in st:
            eta_d = eta_d + st["nonlinear"].selection_terms(x)
        if p.assignment_groups is not None:
            gid, z = _group_assignment(p.assignment_groups, eta_d, p.share_treated,
                                       assignment == "randomized", rng)
        else:
            a_d = solve_intercept(eta_d, p.share_treated)
            z = (rng.random(p.n) < logistic(a_d + eta_d)).astype(int)
    complier = rng.random(p.n) < p.compliance
    always = (~complier) & (rng.random(p.n) < p.always_takers / max(1e-9, 1 - p.compliance))
    received = np.where(z == 1, complier | always, always).astype(int)

    # --- potential outcomes ---------------------------------------------------------------
    eta = (sum(coef * (x[k] - x[k].mean()) for k, coef in p.outcome_effects.items())
           + p.cycle_effect * ctx["cycle"] + p.aow_effect * ctx["aow_near"]
           + p.motivation_effect * motivation)
    eta = np.asarray(eta, dtype=float)
    if "nonlinear" in st:
        eta = eta + st["nonlinear"].outcome_terms(x)
    age_c = (x["age"] - 55.0) / 10.0
    tau = p.true_effect_pp / 100.0 * (1.0 - p.effect_age_gradient * age_c)
    if "effect_heterogeneity" in st:  # who is likelier to take part gains more
        index = (eta_d if assignment != "randomized" else x["education"])
        tau = tau * st["effect_heterogeneity"].scale(index)
    kind = p.kind or ("binary" if spec.outcome.kind == "binary" else "continuous")
    d_eff = received if spec.treatment.received else z
    if kind == "binary":
        control = (z == 0) if assignment == "randomized" else (d_eff == 0)
        a = solve_intercept(eta[control], p.base_rate, ctx["aow_share"][control])
        p0 = ctx["aow_share"] * logistic(a + eta)
        p1 = np.clip(p0 + tau * ctx["aow_share"], 0.0, 1.0)
        eff = (p1 - p0) * 100.0
        if st:  # shocks on the probability scale; the truth is the effect expected over
            # the shocks' distribution (a clipped normal: expected_clip), not the realised one
            shift0, shift1 = _shifts(st, p, df, d_eff, ctx)
            sd0, sd1 = _shock_sd(st, ctx)
            if sd1.any():
                eff = (expected_clip(p1, sd1) - expected_clip(p0, sd0)) * 100.0
            p0, p1 = np.clip(p0 + shift0, 0.0, 1.0), np.clip(p1 + shift1, 0.0, 1.0)
        y = (rng.random(p.n) < np.where(d_eff == 1, p1, p0)).astype(int)
    else:
        mu0 = p.base_rate + p.continuous_sd * 0.3 * eta
        eff = tau * 100.0 + 0 * mu0
        shift0, shift1 = _shifts(st, p, df, d_eff, ctx) if st else (0.0, 0.0)
        y = (mu0 + eff * d_eff + 100.0 * np.where(d_eff == 1, shift1, shift0)
             + rng.normal(0, p.continuous_sd, p.n))

    df[spec.treatment.column] = z
    if gid is not None:
        width = len(str(p.assignment_groups.n))
        df[p.assignment_groups.column] = pd.array(
            [f"{p.assignment_groups.column}_{i + 1:0{width}d}" for i in gid], dtype="string")
    if spec.treatment.received:
        df[spec.treatment.received] = (st["misrecorded_compliance"].record(received, p.seed)
                                       if "misrecorded_compliance" in st else received)
    df[spec.outcome.column] = y
    if p.motivation_observed:
        df["motivation"] = np.round(motivation + rng.normal(0, p.motivation_proxy_sd, p.n), 2)

    if "peer_effects" in st:
        df[st["peer_effects"].column] = st["peer_effects"].groups(
            d_eff == 1, df["region"].cat.codes.to_numpy(), df["inflow_date"].to_numpy())

    comp = complier & ~always
    truth = {"ATE": float(eff.mean()), "ATT": float(eff[d_eff == 1].mean())}
    if spec.treatment.received:
        truth["LATE"] = float(eff[comp].mean())
        truth["ITT"] = float((eff * (comp.astype(float))).mean())
    else:
        truth["ITT"] = truth["ATE"]
    truth["naive"] = truth["ITT"] if spec.treatment.received else truth["ATT"]
    groups = age_group(x["age"]).to_numpy()
    for lev in AGE_LABELS:  # the true average effect per age group (dml's subgroups)
        if (groups == lev).any():
            truth[subgroup_key("ATE", "age_group", lev)] = float(eff[groups == lev].mean())
    desc = (f"{p.n} persons, {assignment} assignment, true average effect "
            f"{truth['ATE']:.2f} pp (seed {p.seed})")
    if p.outcome_sample is not None:
        yv = np.asarray(y)
        keep = [rng.choice(np.flatnonzero(yv == v), size=min(k, int((yv == v).sum())),
                           replace=False) for v, k in ((1, p.outcome_sample[0]),
                                                       (0, p.outcome_sample[1]))]
        df = df.iloc[np.sort(np.concatenate(keep))].reset_index(drop=True)
        desc += (f"; then {len(keep[0])} persons with the outcome and {len(keep[1])} without "
                 "were sampled (case-control: the comparison is chosen by the outcome)")
    return Twin(df, truth, desc)


def _shifts(st: dict, p: IndividualParams, df, d_eff: np.ndarray,
            ctx: dict) -> tuple[np.ndarray, np.ndarray]:
    """Outcome shifts (probability scale) of the untreated and treated outcome under the
    stress scenarios that add shocks: region x inflow-year shocks (``group_period_shocks``),
    trainer shocks and displacement (``peer_effects``). Scaled by the share of the horizon
    before the AOW date (nobody finds work after it)."""
    zero = np.zeros(p.n)
    s0, s1 = zero.copy(), zero.copy()
    if "group_period_shocks" in st:
        g = st["group_period_shocks"]
        g.check_level("individual")
        year = df["inflow_date"].dt.year.to_numpy()
        cells = df["region"].cat.codes.to_numpy().astype(np.int64) * 10_000 + year
        shock = g.shocks(cells, p.seed)
        s0, s1 = s0 + shock, s1 + shock
    if "peer_effects" in st:
        pe = st["peer_effects"]
        treated = d_eff == 1
        group = pe.groups(treated, df["region"].cat.codes.to_numpy(), df["inflow_date"].to_numpy())
        s1 = s1 + pe.shocks(group, treated, p.seed)
        if pe.displacement_pp:
            q = df["inflow_date"].dt.to_period("Q").astype(str).to_numpy()
            cell = df["region"].astype(str).to_numpy() + "|" + q
            share = pd.Series(treated.astype(float)).groupby(cell).transform("mean").to_numpy()
            s0 = s0 - pe.displacement_pp / 100.0 * share
    return s0 * ctx["aow_share"], s1 * ctx["aow_share"]


def _shock_sd(st: dict, ctx: dict) -> tuple[np.ndarray, np.ndarray]:
    """SD (probability scale) of the random shocks on the untreated and the treated outcome:
    region x year shocks on both, the trainer shock on the treated (displacement is not
    random and not part of the effect)."""
    g = st["group_period_shocks"].sd_pp / 100.0 if "group_period_shocks" in st else 0.0
    t = st["peer_effects"].shock_sd_pp / 100.0 if "peer_effects" in st else 0.0
    a = ctx["aow_share"]
    return g * a, np.sqrt(g ** 2 + t ** 2) * a
