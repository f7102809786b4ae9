"""Bayesian multilevel estimation by region (or project, municipality, ...): partial pooling.

Model (Gelman and Hill 2007, ch. 11-14), person i in group g, treatment d_i:

    binary:     logit P(y_i = 1) = mu_g + x_i'beta + d_i tau_g
    continuous: y_i ~ Normal(mu_g + x_i'beta + d_i tau_g, sigma)   (y standardised inside)
    mu_g  ~ Normal(alpha, sd_intercept)           region-varying intercepts
    tau_g ~ Normal(theta + w_g'gamma, sd_effect)   region-varying treatment effects, with
                                                   optional region-level predictors w_g (dose)

Covariates and the context confounders (``months_to_aow``, ``conjunctuur``) are fixed
effects: categorical ones reference-coded (the most frequent level is the reference, so no
redundant intercept and the least correlated coefficients),
numeric ones standardised, every column centred on its mean so the intercept is the mean
logit (this decorrelates alpha and beta and keeps the sampler fast). Weakly informative
priors (Gelman et al. 2008), all overridable in ``options.priors``: alpha ~ N(0, 2.5),
beta ~ N(0, 1) per column (per SD of a numeric covariate), theta ~ N(0, 1) (one logit is
about 25 points at 50%), sd_intercept ~ HalfNormal(1), sd_effect ~ HalfNormal(0.5),
gamma ~ N(0, 1) per SD of a region-level predictor, sigma ~ HalfNormal(1).

Parameterisation: a group's intercept and effect are sampled centred (mu_g directly) when its
data pin them down more tightly than the groups vary (its raw standard error below half a
moment estimate of the between-group sd, DerSimonian and Laird 1986; an effect's also below
0.1 on the logit scale) and non-centred (mu_g = alpha +
sd z_g) when they do not, so weakly informed groups avoid the funnel and well informed ones
the opposite ridge (Papaspiliopoulos, Roberts and Skold 2007; Betancourt and Girolami 2015;
multilevel_model.model_structure). The choice is a 0/1 weight per group passed as data (the
partially non-centred form), so it never forces a recompilation. ``parameterization``
forces one form for all groups.

Speed: a binary outcome with categorical covariates has sufficient statistics, so rows are
collapsed to cells (group x treatment x covariate levels) and the likelihood is binomial
on the cells: exact, and the cost depends on the number of cells, not rows. A continuous
outcome collapses exactly too (cell count, mean and within-cell sum of squares). Continuous
covariates are binned where ``options.bin`` allows (the bins are then the covariate's levels);
a numeric covariate with at most ``max_levels`` distinct values is used exactly; any other
continuous covariate makes the model run on rows, with a warning.

The model is written in pymc (multilevel_model.build_model; the likelihood a pm.Potential with
the binomial kernel y eta - n log(1 + e^eta), without its constant: the same posterior as
pm.Binomial). Sampling: nutpie's NUTS (Hoffman and Gelman 2014; nutpie, Seyboldt et al.) with
its low-rank mass-matrix adaptation. nutpie does not evaluate that pymc model: it calls a C
callback (causal.estimators.multilevel_cfuncs) whose log density and gradient are the same
model written by hand in numba (multilevel_kernels.log_density: one fused pass over the cells
plus the priors; tests/test_multilevel.py checks it against the pymc model's compiled log
density, gradient and trace values). Why by hand: the pymc model compiled by PyTensor (C
backend) and called back through Python cost about 0.3 ms per gradient on 2,800 cells, 4x the
loop itself, and held the GIL, so the two chains hardly overlapped (5,000 persons: 8.8 CPU-s
of sampling, now about 3.5); ``nutpie.compile_pymc_model`` (numba) does call a C function but
took 16-50 s to compile in every new process on this 2-core machine, where the hand-written
callback is compiled once per installation (cached on disk by numba) and needs no C
compiler. The data, including which groups are sampled centred, are a buffer the callback
reads, so nothing is compiled per data set.

Reported on the outcome's scale: the national net effect is the average over the treated of
P(y | treated) - P(y | untreated) computed from every posterior draw (pp for a binary
outcome), with its 95% equal-tailed credible interval; the same per region (with the region's
n, beside the raw treated-minus-untreated difference). Regions with fewer than
``spec.disclosure.min_cell`` treated or untreated persons are pooled in the estimate but not
shown. With region-level predictors the dose-response is reported too: the points the treated
would gain from one more unit of the predictor, holding the rest of their region's effect.

Diagnostics (arviz; Vehtari et al. 2021): R-hat, bulk and tail ESS of the national effect and
the worst over the model's quantities (not the sampler's raw coordinates), divergences; R-hat
above 1.01, any divergence or a bulk ESS under 400 gives a warning on the estimate.

Assumed: no unmeasured confounding given the covariates (the model adjusts, it does not
randomise); the logit (or normal) model with these covariates is adequate; effects vary
between groups as a normal distribution around the mean (plus the predictors).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from causal.errors import EstimationError
from causal.estimators import estimator
from causal.estimators.multilevel_design import (  # noqa: F401 - re-exported
    NAME,
    Design,
    MultilevelOptions,
    Priors,
    make_design,
)
from causal.estimators.multilevel_model import (  # noqa: F401 - re-exported
    Structure,
    compile_mode,
    compiled,
    model_structure,
    sample,
)
from causal.estimators.multilevel_output import (  # noqa: F401 - re-exported
    ESS_MIN,
    RHAT_MAX,
    Effects,
    convergence,
    convergence_warnings,
    dose_figure,
    effects,
    forest_figure,
    model_convergence,
    posterior_figure,
)
from causal.result import Estimate


# --------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------
def _interval(x: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(x.ravel(), [0.025, 0.975])
    return float(lo), float(hi)


@estimator(NAME, MultilevelOptions)
def bayesian_multilevel(study, options: MultilevelOptions) -> list[Estimate]:
    """Partially pooled national and region effects (pymc model, nutpie sampler, arviz
    diagnostics); binary outcomes collapsed to binomial cells where exact."""
    import time

    t0 = time.perf_counter()
    design = make_design(study, options)
    want = options.estimands or (["ATT"] + (["dose_response"] if design.predictors else []))
    if "dose_response" in want and not design.predictors:
        raise EstimationError(f"{NAME}: the dose_response estimand needs region-level "
                              "predictors (option effect_predictors)")
    t1 = time.perf_counter()
    idata, (wi, we) = sample(design, options)
    t2 = time.perf_counter()
    eff = effects(idata, design, study.scale)
    model_conv = model_convergence(idata)
    conv = convergence(idata, eff.national, model_conv)
    from causal.report.gate_figures import GatedFigure
    warns = list(design.warnings) + convergence_warnings(conv)
    group = options.group or study.spec.region
    unit = study.unit
    k = study.spec.disclosure.min_cell

    # regions: shown only when both arms reach the disclosure threshold
    rows: list[dict[str, Any]] = []
    suppressed = 0
    for j, gname in enumerate(design.groups):
        nt, nc = int(round(eff.n_treated[j])), int(round(eff.n_control[j]))
        if nt < k or nc < k:
            suppressed += 1
            continue
        lo, hi = _interval(eff.region[:, j])
        raw = float(eff.raw[j])
        row = {"group": gname, "n": nt + nc, "n_treated": nt, "n_control": nc,
               "pooled": float(np.mean(eff.region[:, j])), "pooled_low": lo, "pooled_high": hi,
               "raw": raw if math.isfinite(raw) else None,
               "raw_low": raw - 1.96 * float(eff.raw_se[j]) if math.isfinite(raw) else None,
               "raw_high": raw + 1.96 * float(eff.raw_se[j]) if math.isfinite(raw) else None}
        for q, pname in enumerate(design.predictors):
            row[pname] = float(design.w_raw[j, q])
        rows.append(row)
    disclosure = (f"{suppressed} of {len(design.groups)} {group} groups have fewer than {k} "
                  "treated or untreated persons: they are pooled in the estimate but not shown"
                  if suppressed else f"every {group} has at least {k} treated and {k} "
                  "untreated persons")
    n_cells = len(design.n)
    struct_txt = (f"{int(wi.sum())} of {len(wi)} group intercepts and {int(we.sum())} group "
                  "effects sampled centred, the rest non-centred")
    diag = {
        "group": group, "n_groups": len(design.groups), "regions": rows,
        "disclosure": disclosure, "suppressed_groups": suppressed,
        "convergence": conv, "likelihood": ("rows" if design.row_level else "cells"),
        "n_cells": n_cells, "rows": design.rows, "columns": design.columns,
        "parameterization": struct_txt, "notes": design.notes,
        "priors": options.priors.model_dump(),
        "sd_intercept": float(idata.posterior["sd_intercept"].mean()),
        "sd_effect": float(idata.posterior["sd_effect"].mean()),
        "seconds": {"prepare": round(t1 - t0, 2), "sample": round(t2 - t1, 2),
                    "total": round(time.perf_counter() - t0, 2)},
    }
    lik = (f"{'binomial' if design.family == 'binomial' else 'normal'} likelihood on "
           + (f"{n_cells} cells collapsed from {design.rows} rows (exact)" if not design.row_level
              else f"{design.rows} rows"))
    method = (f"Bayesian multilevel model (Gelman and Hill 2007): {group}-varying intercepts "
              f"and treatment effects, partially pooled; {len(design.columns)} fixed-effect "
              f"columns; {'logit link' if design.family == 'binomial' else 'normal outcome'}; "
              f"{lik}; weakly informative priors (Gelman et al. 2008); {struct_txt}; NUTS via "
              f"nutpie, {options.chains} chains x {options.draws} draws. The national effect "
              "is the average over the treated of the difference in predicted outcome, from "
              "every posterior draw; 95% equal-tailed credible interval. Assumes no "
              "unmeasured confounding given the covariates.")
    post_file = _posterior_file(idata, eff, design, rows)
    totals = {"what": "all persons", "n_treated": int(round(float(np.sum(eff.n_treated)))),
              "n_control": int(round(float(np.sum(eff.n_control))))}
    out: list[Estimate] = []

    nat = eff.national
    lo, hi = _interval(nat)
    truth = study.truth.get("ATT")
    if "ATT" in want or options.att_not_identified:
        if options.att_not_identified:
            out.append(study.estimate(
                NAME, "ATT", None, label=f"pooled by {group}", interval="95% credible interval",
                reason=options.att_not_identified, method=method,
                diagnostics={**diag, "reason_nl": options.att_not_identified_nl,
                             "contrast_not_an_effect": {
                    "mean": float(nat.mean()), "ci": [lo, hi],
                    "note": "treated-vs-untreated contrast from the same model; not a net "
                            "effect in this design (see reason)"}},
                warnings=list(warns)))
            if rows:
                out[-1].figures = {"forest": GatedFigure(rows, lambda recs: forest_figure(
                    recs, float(nat.mean()), unit, group, None,
                    title=f"Treated-vs-untreated contrast by {group} (not an effect)"),
                    what=f"raw and pooled contrast by {group} (groups under min_cell left out)")}
        else:
            est = study.estimate(
                NAME, "ATT", float(nat.mean()), (lo, hi), float(nat.std()),
                label=f"pooled by {group}", interval="95% credible interval", method=method,
                diagnostics=diag, warnings=list(warns))
            est.figures = {"national_posterior": GatedFigure(
                [totals], lambda _r: posterior_figure(nat, lo, hi, unit, "national net effect",
                                                      truth),
                what="posterior draws of the national net effect (a model output over all "
                     "persons)")}
            if rows:
                est.figures["forest"] = GatedFigure(
                    rows, lambda recs: forest_figure(recs, float(nat.mean()), unit, group, truth),
                    what=f"raw and pooled effect by {group} (groups under min_cell left out)")
            out.append(est)

    if "dose_response" in want:
        for q, pname in enumerate(design.predictors):
            draws = eff.dose[:, q].reshape(nat.shape)
            c = convergence(idata, draws, model_conv)
            dlo, dhi = _interval(draws)
            per = options.predictor_units.get(pname, f"unit of {pname}")
            key = "dose_response" if len(design.predictors) == 1 else f"dose_response[{pname}]"
            dtruth = study.truth.get(key)
            est = study.estimate(
                NAME, "dose_response", float(draws.mean()), (dlo, dhi), float(draws.std()),
                gross=None, truth_key=key, unit=f"{unit} per {per}",
                label=f"dose-response {pname}", interval="95% credible interval",
                method=method + (f" Dose-response: the change in the treated's outcome from "
                                 f"one more {per} in their {group} ({pname} predicts the "
                                 f"{group} effects), averaged over the treated; assumes "
                                 f"nothing else that changes a {group}'s contrast is related "
                                 f"to {pname}."),
                diagnostics={**diag, "convergence": c,
                             "gamma_per_unit_logit": float(
                                 (idata.posterior["dose"].values[..., q] / design.w_sd[q]).mean())},
                warnings=list(design.warnings) + convergence_warnings(c))
            est.figures = {"posterior": GatedFigure(
                [totals], lambda _r, d=draws, a=dlo, b=dhi, t=dtruth, u=f"{unit} per {per}":
                posterior_figure(d, a, b, u, "dose-response", t),
                what="posterior draws of the dose-response (a model output over all persons)")}
            if rows:
                est.figures["by_dose"] = GatedFigure(
                    rows, lambda recs, p=pname: dose_figure(recs, p, unit, group),
                    what=f"contrast by {group} against {pname} (groups under min_cell left out)")
            out.append(est)
    for e in out:
        if e.net is not None:
            e.files = {"posterior.nc": post_file}
            break
    return out


def _posterior_file(idata, eff: Effects, design: Design, rows: list[dict[str, Any]]):
    """The posterior.nc file for the output gate: the posterior and sample stats (no data),
    the groups that passed the gate, and the national and region effects on the outcome's
    scale."""
    import xarray as xr

    from causal.report.gate_figures import GatedFile

    def write(path, recs) -> None:
        import arviz as az

        shown = [r["group"] for r in recs]
        keep = [j for j, g in enumerate(design.groups) if g in shown]

        post = idata.posterior
        drop = [v for v in post.data_vars if v.endswith("_z")]
        post = post.drop_vars(drop).isel(group=keep)
        ch, dr = post.sizes["chain"], post.sizes["draw"]
        post = post.assign(
            national_effect=xr.DataArray(eff.national, dims=("chain", "draw")),
            region_effect=xr.DataArray(eff.region[:, keep].reshape(ch, dr, len(keep)),
                                       dims=("chain", "draw", "group")))
        post.attrs["note"] = ("netto bayesian_multilevel posterior; groups under the "
                              "disclosure threshold are left out; effects on the outcome's "
                              "scale (pp for a binary outcome)")
        az.InferenceData(posterior=post, sample_stats=idata.sample_stats).to_netcdf(str(path))

    recs = [{"group": r["group"], "n_treated": r["n_treated"], "n_control": r["n_control"]}
            for r in rows]
    return GatedFile(recs, write, what="posterior draws (no data) of the model parameters and "
                     "the national and group effects; groups under min_cell left out")
