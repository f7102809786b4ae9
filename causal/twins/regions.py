"""Twin for measures carried out group by group (regions, projects), with effects that differ
between groups and, optionally, a group-level dose.

Two designs:

- ``participation``: within each group some persons take part (selection on observed traits:
  education, health, benefit duration, ...), the others are the group's comparison pool. The
  eight Experimenten Meer Werk (seed notes 000 EP9) are the example: small projects, each with
  its own gross rate.
- ``period``: every group is treated from ``period_start`` on; the treatment column marks
  inflow in the treated period. The effect of the measure in a group is its dose times
  ``dose_effect`` (plus noise), while ``period_shock`` moves every group alike and is in no
  column (the UWV koerswijziging of 2017, seed notes 000 §4.4; COVID-19, 004 §2.3). The
  before/after contrast therefore does not identify the effect; the dose-response across
  groups does (if nothing else that moves a group's change is related to its dose).

Outcome model (binary), person i in group g:

    eta0_i   = a_g + b'x_i + cycle_effect * cycle_i + aow_effect * aow_near_i [+ period_shock * post_i]
    P(Y0=1) = aow_share_i * logistic(eta0_i)
    P(Y1=1) = aow_share_i * logistic(eta0_i + tau_g)
    tau_g    = tau0 + dose_effect * dose_g + effect_sd * u_g,   u_g ~ N(0, 1)

``aow_share`` and ``aow_near`` are the shared AOW terms (causal.twins.population): nobody finds
work after the AOW date. ``a_g`` is calibrated per group when the group gives a published
gross rate (the treated's mean outcome) or a control rate, otherwise drawn around
``base_rate`` with ``intercept_sd``; ``tau0`` is solved so that the average effect on the
treated is ``true_effect_pp`` (when given). The effect is on the logit scale, so groups with
the same tau_g but other base rates gain different numbers of points: realistic, and the
reason the estimator reports effects on the probability scale.

Truth (pp): ``ATT`` = mean over treated persons of P(Y1) - P(Y0); per group in
``extras["group_att"]``; ``dose_response`` (with a dose column) = mean over the treated of
P(Y | tau_g + dose_effect) - P(Y | tau_g): the points the treated would gain from one more unit
of dose. Continuous outcomes: y = base_rate + continuous_sd (0.5 eta0) + d tau_g + noise, with
the effect parameters in outcome units.
"""
from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator

from causal.twins import DateStr, OutcomeParams, PopulationParams, Share, Twin, twin
from causal.twins.population import (
    REGIONS,
    context_terms,
    logistic,
    solve_intercept,
    standardise,
)
from causal.twins.stress import active


class GroupSpec(BaseModel):
    """One group (a project, or a region with known figures)."""

    model_config = ConfigDict(extra="forbid")
    #: persons treated / in the comparison pool (relative sizes; scaled to the twin's n).
    n_treated: float | None = None
    n_control: float | None = None
    #: the treated's published mean outcome (0-1): calibrates the group's intercept.
    gross_rate: float | None = None
    #: the untreated's mean outcome (0-1), e.g. a region's rate before the measure.
    control_rate: float | None = None
    #: the group's dose (in the dose column's unit).
    dose: float | None = None
    #: arbeidsmarktregio's the group's persons live in (default: all, by size).
    regions: list[str] | None = None


class FlatBudget(BaseModel):
    """Every group receives the same amount; its dose is the amount per member of its target
    group, whose size is proportional to the region's size (population.REGIONS)."""

    model_config = ConfigDict(extra="forbid")
    amount: float                 # per group, e.g. 2,000,000 euro (004 §2.0)
    target_group_total: float     # national size of the target group (all groups together)
    unit: float = 1.0             # dose unit, e.g. 100 (euro): dose = euro per member / unit


class RegionsParams(PopulationParams, OutcomeParams):
    TRAITS: ClassVar[tuple[str, ...]] = ("age", "education", "benefit_months", "health_limitation",
                                         "sex", "cycle", "months_to_aow")
    design: Literal["participation", "period"] = "participation"
    group_column: str = "region"
    #: named groups; empty: the 35 arbeidsmarktregio's, sized as in population.REGIONS.
    groups: dict[str, GroupSpec] = {}
    below_aow: bool = True
    #: untreated outcome rate for groups without their own calibration.
    base_rate: float = 0.30
    intercept_sd: float = 0.3
    #: average effect on the treated (pp); None: the mean logit effect is ``effect_logit``.
    true_effect_pp: float | None = 5.0
    effect_logit: float = 0.0
    effect_sd: float = 0.3
    dose_column: str | None = None
    dose_effect: float = 0.0
    #: (mean, sd) of the gamma distribution that groups without a dose draw theirs from.
    dose_default: tuple[float, float] = (1.0, 0.5)
    flat_budget: FlatBudget | None = None
    #: participation design: treated share (groups without n_treated), its logit sd across
    #: groups, and selection on standardised observed traits (logit per SD).
    share_treated: Share = 0.3
    share_treated_sd: float = 0.5
    selection: dict[str, float] = {"education": 0.3, "health_limitation": -0.3,
                                   "benefit_months": -0.3}
    #: period design: first day of the treated period, and the common shock (logit) that
    #: comes with it and is in no column.
    period_start: DateStr | None = None
    period_shock: float = 0.0

    @model_validator(mode="after")
    def _check(self):
        if self.group_column == "region":
            odd = sorted(set(self.groups) - set(REGIONS))
            if odd:
                raise ValueError(f"grouped by region, so groups must be arbeidsmarktregio's; "
                                 f"unknown: {odd}")
        elif not self.groups:
            raise ValueError(f"group_column '{self.group_column}' needs its groups listed "
                             "under groups")
        if self.design == "period" and not self.period_start:
            raise ValueError("design 'period' needs period_start (first day of the treated "
                             "period, e.g. '2017-01-01')")
        unknown = sorted({r for g in self.groups.values() for r in (g.regions or [])}
                         - set(REGIONS))
        if unknown:
            raise ValueError(f"unknown arbeidsmarktregio(s) {unknown}; expected names from "
                             "causal.twins.population.REGIONS")
        for name, g in self.groups.items():
            for f in ("gross_rate", "control_rate"):
                v = getattr(g, f)
                if v is not None and not 0 < v < 1:
                    raise ValueError(f"groups.{name}.{f} must be a rate between 0 and 1")
        return self


def _group_sizes(p: RegionsParams) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Group names, their relative sizes, and (participation design) treated shares (NaN:
    drawn). Grouped by region: the 35 arbeidsmarktregio's, ``groups`` only calibrating some;
    otherwise the named groups, sized by n_treated + n_control or by their regions."""
    if p.group_column == "region":
        names = list(REGIONS)
        return names, np.array([REGIONS[r] for r in names], float), np.full(len(names), np.nan)
    names = list(p.groups)
    sizes, treated = [], []
    for nm in names:
        g = p.groups[nm]
        if g.n_treated is not None and g.n_control is not None:
            sizes.append(g.n_treated + g.n_control)
            treated.append(g.n_treated / (g.n_treated + g.n_control))
        else:
            sizes.append(sum(REGIONS[r] for r in g.regions) if g.regions else 1.0)
            treated.append(np.nan)
    return names, np.asarray(sizes, float), np.asarray(treated, float)


def _doses(p: RegionsParams, names: list[str], sizes: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    if p.flat_budget is not None:
        fb = p.flat_budget
        members = fb.target_group_total * sizes / sizes.sum()
        return fb.amount / members / fb.unit
    m, s = p.dose_default
    shape, scale = (m / s) ** 2, s ** 2 / m
    drawn = rng.gamma(shape, scale, len(names))
    given = [p.groups.get(nm, GroupSpec()).dose for nm in names]
    return np.array([drawn[i] if v is None else v for i, v in enumerate(given)], float)


@twin("regions", RegionsParams)
def make(p: RegionsParams, spec, rng: np.random.Generator) -> Twin:
    st = active(p.stress)  # stress scenarios (causal.twins.stress); none by default
    names, sizes, treated_share = _group_sizes(p)
    if "few_groups" in st:  # keep only the largest groups
        keep = st["few_groups"].keep(names, sizes)
        names, sizes, treated_share = ([names[i] for i in keep], sizes[keep],
                                       treated_share[keep])
    G = len(names)
    df = p.draw_population(rng, regions=names if p.group_column == "region" and "few_groups"
                           in st else None)
    n = len(df)
    if p.group_column != "region":  # named groups: draw each person's group, then region
        gi = rng.choice(G, size=n, p=sizes / sizes.sum())
        region = df["region"].astype(str).to_numpy().copy()
        for k, nm in enumerate(names):
            regs = p.groups[nm].regions
            idx = np.flatnonzero(gi == k)
            if regs and len(idx):
                w = np.array([REGIONS[r] for r in regs])
                region[idx] = rng.choice(regs, size=len(idx), p=w / w.sum())
        df["region"] = pd.Categorical(region, categories=list(REGIONS))
    else:
        gi = df["region"].cat.codes.to_numpy()
    if p.group_column != "region":
        df[p.group_column] = pd.Categorical(np.asarray(names, dtype=object)[gi],
                                            categories=names)

    horizon = spec.outcome.horizon_months or 12
    ctx = context_terms(df, horizon)
    x = {
        "age": df["age"].to_numpy(float),
        "education": df["education"].cat.codes.to_numpy().astype(float),
        "benefit_months": df["benefit_months"].to_numpy(float),
        "health_limitation": df["health_limitation"].to_numpy(float),
        "sex": (df["sex"] == "vrouw").to_numpy(float), "cycle": ctx["cycle"],
        "months_to_aow": ctx["months_to_aow"],
    }

    # --- treatment -------------------------------------------------------------------------
    if p.design == "period":
        d = (df["inflow_date"] >= pd.Timestamp(p.period_start)).to_numpy().astype(int)
        if d.all() or not d.any():
            raise ValueError(f"period_start {p.period_start} leaves no inflow before or after it"
                             f" (inflow {p.inflow[0]} to {p.inflow[1]})")
    else:
        eta_d = np.zeros(n) + sum(c * standardise(x[k]) for k, c in p.selection.items())
        share = treated_share
        noise = rng.normal(0, p.share_treated_sd, G)
        d = np.zeros(n, int)
        base_logit = np.log(p.share_treated / (1 - p.share_treated))
        for k in range(G):
            idx = np.flatnonzero(gi == k)
            if not len(idx):
                continue
            target = share[k] if np.isfinite(share[k]) else logistic(base_logit + noise[k])
            c = solve_intercept(eta_d[idx], float(target))
            d[idx] = rng.random(len(idx)) < logistic(c + eta_d[idx])
    post = d if p.design == "period" else np.zeros(n, int)

    # --- outcome model ---------------------------------------------------------------------
    eta = np.asarray(sum(c * (x[k] - x[k].mean()) for k, c in p.outcome_effects.items())
                     + p.cycle_effect * ctx["cycle"] + p.aow_effect * ctx["aow_near"]
                     + p.period_shock * post, dtype=float) + np.zeros(n)
    share_aow = ctx["aow_share"]
    dose = _doses(p, names, sizes, rng) if p.dose_column else np.zeros(G)
    u = rng.normal(0, 1, G)
    u_a = rng.normal(0, 1, G)
    shape = st.get("skewed_group_effects") or st.get("heavy_tailed_group_effects")
    if shape is not None:  # group effects not normal (and perhaps tied to group size)
        u = shape.effects(G, sizes, p.seed)
    kind = p.kind or ("binary" if spec.outcome.kind == "binary" else "continuous")
    treated = d == 1

    if kind == "binary":
        a0 = solve_intercept(eta[~treated], p.base_rate, share_aow[~treated])
        a = a0 + p.intercept_sd * u_a
        tau0 = p.effect_logit
        for _ in range(4):  # alternate: group intercepts given effects, tau0 given intercepts
            tau = tau0 + p.dose_effect * dose + p.effect_sd * u
            for k, nm in enumerate(names):
                g = p.groups.get(nm)
                if g is None:
                    continue
                idx_t = np.flatnonzero((gi == k) & treated)
                idx_c = np.flatnonzero((gi == k) & ~treated)
                if g.gross_rate is not None and len(idx_t):
                    a[k] = solve_intercept(eta[idx_t] + tau[k], g.gross_rate, share_aow[idx_t])
                elif g.control_rate is not None and len(idx_c):
                    a[k] = solve_intercept(eta[idx_c], g.control_rate, share_aow[idx_c])
            if p.true_effect_pp is None:
                break
            base = a[gi] + eta
            extra = (p.dose_effect * dose + p.effect_sd * u)[gi]
            lo, hi = -10.0, 10.0
            for _ in range(60):  # tau0 such that the ATT equals true_effect_pp
                mid = (lo + hi) / 2
                e = share_aow * (logistic(base + mid + extra) - logistic(base))
                if e[treated].mean() * 100 < p.true_effect_pp:
                    lo = mid
                else:
                    hi = mid
            tau0 = (lo + hi) / 2
        tau = tau0 + p.dose_effect * dose + p.effect_sd * u
        eta0 = a[gi] + eta
        p0 = share_aow * logistic(eta0)
        p1 = share_aow * logistic(eta0 + tau[gi])
        y = (rng.random(n) < np.where(treated, p1, p0)).astype(int)
        eff = (p1 - p0) * 100.0
        dose_eff = (share_aow * (logistic(eta0 + tau[gi] + p.dose_effect)
                                 - logistic(eta0 + tau[gi]))) * 100.0
    else:
        a = p.intercept_sd * u_a
        tau0 = p.true_effect_pp if p.true_effect_pp is not None else p.effect_logit
        tau = tau0 + p.dose_effect * dose + p.effect_sd * u
        mu0 = p.base_rate + p.continuous_sd * (a[gi] + 0.5 * eta)
        eff = tau[gi] + 0.0 * mu0
        y = mu0 + eff * d + rng.normal(0, p.continuous_sd, n)
        dose_eff = np.full(n, p.dose_effect)

    df[spec.treatment.column] = d
    df[spec.outcome.column] = y
    if p.dose_column:
        df[p.dose_column] = np.round(dose, 4)[gi]

    truth = {"ATT": float(eff[treated].mean()), "ATE": float(eff.mean())}
    if spec.treatment.assignment == "randomized" and not spec.treatment.received:
        truth["ITT"] = truth["ATE"]  # assigned at random, everyone assigned takes part
    truth["naive"] = truth["ATT"]
    if p.dose_column:
        truth["dose_response"] = float(dose_eff[treated].mean())
    group_att = {nm: float(eff[(gi == k) & treated].mean())
                 for k, nm in enumerate(names) if ((gi == k) & treated).any()}
    desc = (f"{n} persons in {G} groups ({p.group_column}), {p.design} design, true effect on "
            f"the treated {truth['ATT']:.2f} {'pp' if kind == 'binary' else 'units'}"
            + (f", dose-response {truth['dose_response']:.3f} per unit of {p.dose_column}"
               if p.dose_column else "") + f" (seed {p.seed})")
    extras = {"group_att": group_att, "group_effect_logit": dict(zip(names, tau.tolist())),
              "dose": dict(zip(names, dose.tolist())) if p.dose_column else {}}
    return Twin(df, truth, desc, extras)
