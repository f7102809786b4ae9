"""Partial pooling of group-level evidence: a hierarchical normal or binomial model.

For measures of which only a table per group exists (seed notes 000 EP9: the Experimenten
Meer Werk projects; sector plans, regions): one row per group with an effect estimate and its
standard error, or the persons and successes per arm (spec ``groups`` block).

- estimates: y_j ~ N(theta_j, se_j), theta_j = mu + tau z_j, z_j ~ N(0, 1) (the random-effects
  model of meta-analysis, DerSimonian and Laird 1986, in its Bayesian form: Rubin 1981,
  Gelman et al. 2013 ch. 5). The net effect is mu, the mean of the group effects.
- counts: successes ~ Binomial(n, expit(alpha_j)) in the comparison arm and
  Binomial(n, expit(alpha_j + theta_j)) among participants, theta_j = mu + tau z_j on the
  log-odds scale, alpha_j ~ N(0, 2.5) per group (baselines not pooled). The net effect is the
  participants' average of 100 (expit(alpha_j + theta_j) - expit(alpha_j)) (pp), weighted by
  their numbers: the effect on the treated in these groups.

Non-centred (theta = mu + tau z; Papaspiliopoulos, Roberts and Skold 2007), so few groups with
large standard errors do not give a funnel. Priors on mu and tau are options (normal,
Student-t or Cauchy for mu; half-normal, half-Cauchy or half-Student-t for tau; Gelman 2006 on
tau), with weakly informative defaults on the effect's scale.

Sampled with nutpie (NUTS) on the log density and gradient PyTensor compiles from the pymc
model (as :mod:`causal.estimators.multilevel` does, for the same reason: no numba compile per
process). The run is extended (draws doubled, up to ``max_draws``) until every parameter has
R-hat <= ``rhat_max`` and bulk ESS >= ``ess_min`` (Vehtari et al. 2021); otherwise a warning.
The compiled log density is kept per data layout and priors and reused with new data
(:func:`_compiled`), so a simulation study compiles once per process. On 200 Experimenten
Meer Werk twins (six projects) the 95% intervals covered the participants' effect in 93.5%
(Monte Carlo se 1.7), the mean of the group effects in 95.5% (1.5) and a new group's effect in
98.5% (0.9: with six groups the between-group sd's posterior keeps the prior's tail, so the
prediction is conservative); ``benchmarks/results/coverage/coverage.md``.

Reported: the pooled mean with its equal-tailed credible interval, the between-group sd tau,
each group's raw and shrunken effect (a forest plot, raw beside pooled), the posterior
predictive effect for a new group ("what to expect in the next region": theta_new =
mu + tau z_new), and P(pooled effect > 0). Assumed: the groups' true effects are exchangeable
draws from one normal distribution; the estimates' standard errors are right (estimates) or
the arms are comparable within each group (counts): partial pooling does not remove a group's
own selection bias.
"""
from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from causal.estimators import Options, estimator
from causal.result import Estimate

MEAN_FAMILIES = ("normal", "student_t", "cauchy")
SD_FAMILIES = ("half_normal", "half_cauchy", "half_student_t")


class Prior(BaseModel):
    """A prior: family, location (mean's only), scale, and degrees of freedom (Student-t)."""

    model_config = ConfigDict(extra="forbid")
    family: Literal["normal", "student_t", "cauchy", "half_normal", "half_cauchy",
                    "half_student_t"]
    loc: float = 0.0
    scale: float = Field(gt=0)
    nu: float = Field(3.0, gt=0)


class PoolingOptions(Options):
    prior_mean: Prior | None = Field(None, description="Prior of the mean group effect: "
                                     "normal, student_t or cauchy (default normal(0, 20) pp "
                                     "for estimates, normal(0, 1.5) log-odds for counts).")
    prior_sd: Prior | None = Field(None, description="Prior of the between-group sd: "
                                   "half_normal, half_cauchy or half_student_t (default "
                                   "half_normal(10) pp, half_normal(1) log-odds).")
    draws: int = Field(1000, ge=100, le=100_000, description="Draws per chain (doubled "
                       "until R-hat and ESS are met, up to max_draws).")
    tune: int = Field(1000, ge=100, le=100_000, description="Tuning steps per chain.")
    chains: int = Field(4, ge=2, le=16, description="Chains.")
    seed: int = Field(0, ge=0, description="Sampler seed.")
    target_accept: float = Field(0.9, gt=0.5, lt=1, description="NUTS target acceptance.")
    rhat_max: float = Field(1.01, gt=1, description="Largest R-hat accepted, every parameter.")
    ess_min: int = Field(400, ge=1, description="Smallest bulk ESS accepted, every parameter.")
    max_draws: int = Field(8000, ge=100, description="Most draws per chain before giving up "
                           "with a warning.")
    credible: float = Field(0.95, gt=0.5, lt=1, description="Level of the credible intervals.")

    @model_validator(mode="after")
    def _families(self) -> "PoolingOptions":
        if self.prior_mean is not None and self.prior_mean.family not in MEAN_FAMILIES:
            raise ValueError(f"prior_mean.family: one of {', '.join(MEAN_FAMILIES)}")
        if self.prior_sd is not None and self.prior_sd.family not in SD_FAMILIES:
            raise ValueError(f"prior_sd.family: one of {', '.join(SD_FAMILIES)}")
        return self


def default_priors(counts: bool) -> tuple[Prior, Prior]:
    """Weakly informative: pp for estimates (effects of tens of points are implausible),
    log-odds for counts."""
    if counts:
        return Prior(family="normal", scale=1.5), Prior(family="half_normal", scale=1.0)
    return Prior(family="normal", scale=20.0), Prior(family="half_normal", scale=10.0)


def _dist(pm, name: str, p: Prior, **kw):
    if p.family == "normal":
        return pm.Normal(name, p.loc, p.scale, **kw)
    if p.family == "student_t":
        return pm.StudentT(name, nu=p.nu, mu=p.loc, sigma=p.scale, **kw)
    if p.family == "cauchy":
        return pm.Cauchy(name, p.loc, p.scale, **kw)
    if p.family == "half_normal":
        return pm.HalfNormal(name, p.scale, **kw)
    if p.family == "half_cauchy":
        return pm.HalfCauchy(name, p.scale, **kw)
    return pm.HalfStudentT(name, nu=p.nu, sigma=p.scale, **kw)


def build_model(data: dict[str, np.ndarray], prior_mean: Prior, prior_sd: Prior):
    """The pymc model (non-centred). ``data``: y, se (estimates) or n1, s1, n0, s0 (counts),
    each held in a ``pm.Data`` container named ``data_<key>`` so that a compiled model can be
    reused with other data of the same shape (:func:`_compiled`)."""
    import pymc as pm

    J = len(next(iter(data.values())))
    with pm.Model() as m:
        d = {k: pm.Data(f"data_{k}", np.asarray(v)) for k, v in data.items()}
        mu = _dist(pm, "mu", prior_mean)
        tau = _dist(pm, "tau", prior_sd)
        z = pm.Normal("z", 0.0, 1.0, shape=J)
        theta = mu + tau * z
        if "y" in data:
            pm.Normal("y", theta, d["se"], observed=d["y"])
        else:
            alpha = pm.Normal("alpha", 0.0, 2.5, shape=J)
            pm.Binomial("s0", n=d["n0"], logit_p=alpha, observed=d["s0"])
            pm.Binomial("s1", n=d["n1"], logit_p=alpha + theta, observed=d["s1"])
    return m


#: compiled log densities by data layout and priors: compiling costs seconds (5-10 s on a
#: busy machine), as much as sampling, and a simulation study refits the same model on
#: hundreds of twins in one process
_COMPILED: dict[tuple, tuple] = {}


def _compiled(data: dict[str, np.ndarray], prior_mean: Prior, prior_sd: Prior):
    """:func:`_compile` of :func:`build_model`, done once per data layout and priors in a
    process; later calls put their data into the model's shared containers instead."""
    J = len(next(iter(data.values())))
    key = (tuple(sorted(data)), J, prior_mean.model_dump_json(), prior_sd.model_dump_json())
    hit = _COMPILED.get(key)
    if hit is None:
        m = build_model(data, prior_mean, prior_sd)
        shared = {k: m.named_vars[f"data_{k}"] for k in data}
        hit = _COMPILED[key] = (*_compile(m), shared)
    fn, layout, ndim, shared = hit
    for k, v in data.items():
        shared[k].set_value(np.asarray(v, dtype=shared[k].dtype))
    return fn, layout, ndim


def _compile(m):
    """Log density and gradient of the model's unconstrained vector, and its layout."""
    import pytensor
    from pymc.pytensorf import join_nonshared_inputs

    ip = m.initial_point()
    vars_ = m.value_vars
    [lp, dlp], x = join_nonshared_inputs(ip, [m.logp(), m.dlogp()], vars_)
    fn = pytensor.function([x], [lp, dlp])
    layout, start = [], 0
    for v in vars_:
        size = int(np.prod(ip[v.name].shape)) if ip[v.name].shape else 1
        layout.append((v.name, start, size))
        start += size
    return fn, layout, start


def sample(data: dict[str, np.ndarray], prior_mean: Prior, prior_sd: Prior, *, draws: int,
           tune: int, chains: int, seed: int, target_accept: float):
    """Posterior draws (arviz InferenceData with mu, tau, theta, and alpha for counts)."""
    import nutpie
    from nutpie.compiled_pyfunc import from_pyfunc

    fn, layout, ndim = _compiled(data, prior_mean, prior_sd)
    where = {name: (a, k) for name, a, k in layout}
    J = len(next(iter(data.values())))

    def make_logp():
        f = fn.copy()

        def logp(x, **_):
            lp, gr = f(x)
            return float(lp), np.asarray(gr, dtype=float)
        return logp

    def part(x, name):
        a, k = where[name]
        return x[a:a + k]

    def make_expand(_s1, _s2, _chain):
        tau_key = next(k for k in where if k.startswith("tau"))

        def expand(x, **_):
            mu = float(part(x, "mu")[0])
            t = float(part(x, tau_key)[0])
            tau = np.exp(t) if tau_key.endswith("_log__") else t
            out = {"mu": np.asarray(mu), "tau": np.asarray(tau),
                   "theta": mu + tau * part(x, "z")}
            if "alpha" in where:
                out["alpha"] = part(x, "alpha").copy()
            return out
        return expand

    names = ["mu", "tau", "theta"] + (["alpha"] if "alpha" in where else [])
    shapes = [(), (), (J,)] + ([(J,)] if "alpha" in where else [])

    def init(s):
        return np.random.default_rng(s).uniform(-0.5, 0.5, ndim)

    model = from_pyfunc(ndim, make_logp, make_expand, [np.dtype("float64")] * len(names),
                        shapes, names, coords={"group": [str(j) for j in range(J)]},
                        dims={"theta": ("group",), **({"alpha": ("group",)} if "alpha" in where
                                                      else {})},
                        make_initial_point_fn=init)
    return nutpie.sample(model, draws=draws, tune=tune, chains=chains,
                         cores=min(chains, os.cpu_count() or 1), seed=seed, save_warmup=False,
                         progress_bar=False, target_accept=target_accept)


def convergence(idata) -> dict[str, Any]:
    """Worst R-hat and bulk ESS over mu, tau, theta (and alpha); divergences."""
    import warnings

    import arviz as az

    post = idata.posterior
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = az.rhat(post)
        e = az.ess(post, method="bulk")
    r_by = {v: float(np.nanmax(r[v].values)) for v in post.data_vars}
    e_by = {v: float(np.nanmin(e[v].values)) for v in post.data_vars}
    return {"rhat_max": max(r_by.values()), "rhat_worst": max(r_by, key=r_by.get),
            "ess_bulk_min": min(e_by.values()), "ess_worst": min(e_by, key=e_by.get),
            "divergences": int(idata.sample_stats["diverging"].values.sum()),
            "chains": int(post.sizes["chain"]), "draws": int(post.sizes["draw"])}


def fit_pooled(data: dict[str, np.ndarray], options: PoolingOptions, counts: bool):
    """Sample until R-hat and ESS meet the options' targets (or max_draws); returns the
    InferenceData, its convergence summary and the priors used."""
    pm0, ps0 = default_priors(counts)
    prior_mean, prior_sd = options.prior_mean or pm0, options.prior_sd or ps0
    draws = options.draws
    while True:
        idata = sample(data, prior_mean, prior_sd, draws=draws, tune=options.tune,
                       chains=options.chains, seed=options.seed, target_accept=options.target_accept)
        conv = convergence(idata)
        ok = conv["rhat_max"] <= options.rhat_max and conv["ess_bulk_min"] >= options.ess_min
        if ok or draws * 2 > options.max_draws:
            conv["converged"] = bool(ok)
            return idata, conv, prior_mean, prior_sd
        draws *= 2


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _q(x: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(np.ravel(x), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


@estimator("pooled_groups", PoolingOptions, assignments=("groups",))
def pooled_groups(study, options: PoolingOptions) -> list[Estimate]:
    """Hierarchical normal (estimate, se) or binomial (counts per arm) model over groups:
    pooled mean, between-group sd, shrunken group effects, next-group prediction (pymc,
    nutpie)."""
    from causal.aggregate import group_persons
    from causal.estimators.multilevel import forest_figure
    from causal.report.gate_figures import GatedFigure

    g = study.spec.groups
    df = study.data
    names = df[g.column].tolist()
    persons = group_persons(study)
    if g.counts:
        n1, s1 = df[g.n_treated].to_numpy(int), df[g.successes_treated].to_numpy(int)
        n0, s0 = df[g.n_control].to_numpy(int), df[g.successes_control].to_numpy(int)
        data = {"n1": n1, "s1": s1, "n0": n0, "s0": s0}
    else:
        data = {"y": df[g.estimate].to_numpy(float), "se": df[g.se].to_numpy(float)}
    idata, conv, prior_mean, prior_sd = fit_pooled(data, options, g.counts)
    post = idata.posterior
    mu = post["mu"].values.ravel()
    tau = post["tau"].values.ravel()
    theta = post["theta"].values.reshape(-1, len(names))
    rng = np.random.default_rng(options.seed)
    theta_new = mu + tau * rng.standard_normal(mu.shape)
    if g.counts:
        alpha = post["alpha"].values.reshape(-1, len(names))
        eff = 100 * (_expit(alpha + theta) - _expit(alpha))
        net_draws = eff @ n1 / n1.sum()
        base = np.log(s0.sum() + 0.5) - np.log(n0.sum() - s0.sum() + 0.5)
        new_draws = 100 * (_expit(base + theta_new) - _expit(base))
        raw = 100 * (s1 / n1 - s0 / n0)
        raw_se = 100 * np.sqrt(np.maximum(s1 / n1 * (1 - s1 / n1), 0.25 / n1) / n1
                               + np.maximum(s0 / n0 * (1 - s0 / n0), 0.25 / n0) / n0)
        gross = float(100 * s1.sum() / n1.sum())
        n_t, n_c = int(n1.sum()), int(n0.sum())
        scale_note = "log-odds"
    else:
        eff, net_draws, new_draws = theta, mu, theta_new
        raw, raw_se = data["y"], data["se"]
        gross, n_t, n_c = None, int(persons.sum()), 0
        scale_note = study.unit
    lv = options.credible
    z = 1.959963984540054
    rows = []
    for j, name in enumerate(names):
        lo, hi = _q(eff[:, j], lv)
        rows.append({"group": name, "n": int(persons[j]), "raw": float(raw[j]),
                     "raw_low": float(raw[j] - z * raw_se[j]), "raw_high": float(raw[j] + z * raw_se[j]),
                     "pooled": float(eff[:, j].mean()), "pooled_low": lo, "pooled_high": hi})
    net = float(net_draws.mean())
    ci = _q(net_draws, lv)
    p_pos = float((net_draws > 0).mean())
    new_lo, new_hi = _q(new_draws, lv)
    tau_lo, tau_hi = _q(tau, lv)
    warnings = []
    if not conv["converged"]:
        warnings.append(f"the sampler did not reach R-hat <= {options.rhat_max} and bulk ESS >= "
                        f"{options.ess_min} within {options.max_draws} draws (worst: R-hat "
                        f"{conv['rhat_max']:.3f} for {conv['rhat_worst']}, ESS "
                        f"{conv['ess_bulk_min']:.0f} for {conv['ess_worst']})")
    if conv["divergences"]:
        warnings.append(f"{conv['divergences']} divergent transitions; raise target_accept")
    if len(names) < 5:
        warnings.append(f"only {len(names)} groups: the between-group sd rests mostly on its prior")
    what = ("participants' average effect in these groups" if g.counts
            else "mean of the group effects")
    method = (f"Hierarchical {'binomial' if g.counts else 'normal'} model over {len(names)} "
              f"groups, non-centred, pymc + nutpie ({conv['chains']} chains x {conv['draws']} "
              f"draws; worst R-hat {conv['rhat_max']:.3f}, bulk ESS {conv['ess_bulk_min']:.0f})."
              f" Priors: mean {prior_mean.family}({prior_mean.loc:g}, {prior_mean.scale:g}), "
              f"between-group sd {prior_sd.family}({prior_sd.scale:g}) on the {scale_note} "
              f"scale. Net effect: the {what}. P(effect > 0) = {p_pos:.2f}; between-group sd "
              f"{tau.mean():.2f} ({tau_lo:.2f} to {tau_hi:.2f}); a new group's effect: "
              f"{new_draws.mean():.1f} ({new_lo:.1f} to {new_hi:.1f}).")
    est = study.estimate(
        "pooled_groups", "ATT", net, ci, float(net_draws.std()), gross=gross, n_treated=n_t,
        n_control=n_c, df_resid=int(persons.sum()) - 2 - len(names) * (2 if g.counts else 1),
        label="pooled", interval=f"{lv:.0%} credible interval", method=method,
        warnings=warnings,
        diagnostics={"groups": rows, "p_positive": p_pos,
                     "between_group_sd": {"mean": float(tau.mean()), "low": tau_lo,
                                          "high": tau_hi, "scale": scale_note},
                     "pooled_mean_mu": {"mean": float(mu.mean()), "low": _q(mu, lv)[0],
                                        "high": _q(mu, lv)[1], "scale": scale_note},
                     "new_group": {"mean": float(new_draws.mean()), "low": new_lo,
                                   "high": new_hi, "n": int(persons.sum())},
                     "convergence": conv,
                     # checked by the coverage study (causal.validate) against the twin's truth
                     "secondary": [
                         {"label": f"mean of the group effects, {scale_note}", "estimand": "mu",
                          "net": float(mu.mean()), "ci_low": _q(mu, lv)[0],
                          "ci_high": _q(mu, lv)[1], "truth": study.truth.get("mu"),
                          "n": int(persons.sum())},
                         {"label": f"a new group's effect, {scale_note}",
                          "estimand": "new_group", "net": float(theta_new.mean()),
                          "ci_low": _q(theta_new, lv)[0], "ci_high": _q(theta_new, lv)[1],
                          "truth": study.truth.get("new_group"), "n": int(persons.sum())}],
                     "priors": {"mean": prior_mean.model_dump(), "sd": prior_sd.model_dump()},
                     "assumes": "group effects exchangeable draws from one normal "
                                "distribution; each group's own estimate unbiased"})
    unit = study.unit
    est.figures["forest"] = GatedFigure(
        rows, lambda recs: forest_figure(
            recs, net, unit, g.column, study.truth.get("ATT"),
            title=f"{study.spec.title}\nraw beside partially pooled, by {g.column}"),
        what=f"each {g.column}'s raw and partially pooled effect with its persons (n)")
    return [est]
