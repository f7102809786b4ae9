"""pooled_groups: the hierarchical normal model against the exact posterior by numerical
integration (same priors), and the binomial model recovering its twin's truth."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from causal.errors import DataError, SpecError
from causal.estimators.pooling import PoolingOptions, Prior, fit_pooled
from causal.pipeline import prepare, run_estimator
from causal.spec import load_spec
from causal.twins import make_twin

SPEC = Path(__file__).resolve().parents[1] / "data_specs" / "experimenten_meer_werk_pooled.yaml"
#: eight groups: with fewer, a half-Cauchy's posterior tail makes the sd's Monte Carlo error
#: itself several percent
Y = np.array([12.0, 3.0, -4.0, 8.0, 1.0, 6.0, -2.0, 10.0])
SE = np.array([6.0, 4.0, 7.0, 5.0, 3.0, 8.0, 5.0, 9.0])


def _prior_pdf(p: Prior, x: np.ndarray) -> np.ndarray:
    if p.family == "normal":
        return stats.norm.pdf(x, p.loc, p.scale)
    if p.family == "student_t":
        return stats.t.pdf(x, p.nu, p.loc, p.scale)
    if p.family == "cauchy":
        return stats.cauchy.pdf(x, p.loc, p.scale)
    if p.family == "half_normal":
        return stats.halfnorm.pdf(x, 0, p.scale)
    if p.family == "half_cauchy":
        return stats.halfcauchy.pdf(x, 0, p.scale)
    return 2 * stats.t.pdf(x, p.nu, 0, p.scale)


def exact_posterior(pm_: Prior, ps_: Prior) -> dict[str, tuple[float, float]]:
    """Posterior mean and sd of mu, tau and theta_1 by integration on a grid: theta integrates
    out analytically (y_j ~ N(mu, se_j^2 + tau^2)); tau on a log grid."""
    mu = np.linspace(-80, 80, 1601)
    u = np.linspace(-9, 6, 1501)
    tau = np.exp(u)
    M, T = np.meshgrid(mu, tau, indexing="ij")
    v = SE[None, None, :] ** 2 + T[..., None] ** 2
    ll = -0.5 * (((Y - M[..., None]) ** 2) / v + np.log(v)).sum(-1)
    with np.errstate(divide="ignore"):
        logpost = ll + np.log(_prior_pdf(pm_, M)) + np.log(_prior_pdf(ps_, T)) + u[None, :]
    w = np.exp(logpost - logpost.max())
    w /= w.sum()
    out = {}
    for name, x in (("mu", M), ("tau", T)):
        m = (w * x).sum()
        out[name] = (m, np.sqrt((w * (x - m) ** 2).sum()))
    prec = 1 / SE[0] ** 2 + 1 / T**2
    cm = (Y[0] / SE[0] ** 2 + M / T**2) / prec
    m = (w * cm).sum()
    out["theta0"] = (m, np.sqrt((w * (1 / prec + (cm - m) ** 2)).sum()))
    return out


@pytest.mark.parametrize("pm_, ps_", [
    (Prior(family="normal", loc=0, scale=20), Prior(family="half_normal", scale=10)),
    (Prior(family="student_t", loc=0, scale=10, nu=4), Prior(family="half_cauchy", scale=5)),
], ids=["normal-halfnormal", "studentt-halfcauchy"])
def test_normal_model_matches_numerical_integration(pm_, ps_):
    import arviz as az

    opts = PoolingOptions(prior_mean=pm_, prior_sd=ps_, draws=1500, seed=3)
    idata, conv, _, _ = fit_pooled({"y": Y, "se": SE}, opts, counts=False)
    assert conv["converged"], conv
    exact = exact_posterior(pm_, ps_)
    post = idata.posterior
    draws = {"mu": post["mu"], "tau": post["tau"], "theta0": post["theta"].isel(theta_dim_0=0)
             if "theta_dim_0" in post["theta"].dims else post["theta"].isel(group=0)}
    for name, da in draws.items():
        mean, sd = float(da.mean()), float(da.std())
        mcse = float(az.mcse(da.to_dataset(name="x"), method="mean")["x"])
        em, es = exact[name]
        assert abs(mean - em) < 4 * mcse, (name, mean, em, mcse)
        assert abs(sd / es - 1) < 0.05, (name, sd, es)


def test_pooled_groups_recovers_its_twin_truth_and_reports():
    spec = load_spec(SPEC)
    ests = []
    for seed in range(5):
        tw = make_twin(spec, seed=seed)
        st = prepare(spec, tw.data)
        st.truth = tw.truth
        ests.append(run_estimator(st, "pooled_groups", {"draws": 500, "tune": 500,
                                                        "max_draws": 500, "ess_min": 100})[0])
    assert sum(e.covers_truth for e in ests) >= 4
    nets = np.array([e.net for e in ests])
    truths = np.array([e.truth for e in ests])
    assert abs((nets - truths).mean()) < 2 * np.mean([e.se for e in ests])
    d = ests[0].diagnostics
    assert 0 <= d["p_positive"] <= 1 and d["between_group_sd"]["mean"] > 0
    assert d["new_group"]["low"] < d["new_group"]["high"]
    assert len(d["groups"]) == 6 and all(r["n"] >= 46 for r in d["groups"])
    # shrinkage: pooled group effects spread less than the raw ones
    raw = np.array([r["raw"] for r in d["groups"]])
    pooled = np.array([r["pooled"] for r in d["groups"]])
    assert pooled.std() < raw.std()


def test_groups_data_errors():
    spec = load_spec(SPEC)
    df = make_twin(spec, seed=0).data
    bad = df.copy()
    bad.loc[0, "found_work"] = bad.loc[0, "participants"] + 1
    with pytest.raises(DataError, match="successes"):
        prepare(spec, bad)
    with pytest.raises(DataError, match="more than one row"):
        prepare(spec, pd.concat([df, df.iloc[:1]]))
    with pytest.raises(DataError, match="at least two"):
        prepare(spec, df.iloc[:1])


def test_prior_families_checked(tmp_path):
    text = SPEC.read_text().replace("prior_sd: {family: half_normal", "prior_sd: {family: normal")
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(SpecError, match="prior_sd.family"):
        load_spec(p)


def test_pooled_groups_on_a_table_of_estimates(tmp_path):
    """The estimate-and-se shape end to end: a spec, its twin, the normal model."""
    text = SPEC.read_text()
    text = text.replace("""  n_treated: participants
  successes_treated: found_work
  n_control: comparison_n
  successes_control: comparison_found_work""", """  estimate: effect_pp
  se: se_pp
  n: persons""").replace("shape: counts", "shape: estimates\n  effect_pp: 5.0\n  effect_sd_pp: 3.0")
    text = text.replace("{family: normal, loc: 0, scale: 1.5}", "{family: student_t, loc: 0, scale: 20, nu: 4}")
    text = text.replace("{family: half_normal, scale: 1.0}", "{family: half_cauchy, scale: 5}")
    p = tmp_path / "est.yaml"
    p.write_text(text)
    spec = load_spec(p)
    tw = make_twin(spec, seed=1)
    assert set(tw.data.columns) >= {"effect_pp", "se_pp", "persons"}
    st = prepare(spec, tw.data)
    st.truth = tw.truth
    opts = {**spec.estimator_options("pooled_groups"), "draws": 500, "tune": 500,
            "max_draws": 500, "ess_min": 100}
    e = run_estimator(st, "pooled_groups", opts)[0]
    assert e.gross is None and e.n_treated == int(tw.data["persons"].sum())
    assert e.ci_low < e.net < e.ci_high and e.covers_truth
    assert "half_cauchy" in e.method


def test_compiled_model_reused_with_new_data():
    """A simulation study refits on many twins: the second fit reuses the compiled model with
    its data swapped in, and draws exactly what a fresh compile draws."""
    from causal.estimators import pooling

    pm_, ps_ = Prior(family="normal", scale=20.0), Prior(family="half_normal", scale=10.0)
    kw = dict(draws=150, tune=150, chains=2, seed=3, target_accept=0.9)
    pooling._COMPILED.clear()
    pooling.sample({"y": Y, "se": SE}, pm_, ps_, **kw)
    assert len(pooling._COMPILED) == 1
    other = {"y": Y[::-1] + 5.0, "se": SE}
    reused = pooling.sample(other, pm_, ps_, **kw).posterior["mu"].values
    assert len(pooling._COMPILED) == 1
    pooling._COMPILED.clear()
    fresh = pooling.sample(other, pm_, ps_, **kw).posterior["mu"].values
    assert np.array_equal(reused, fresh)
    assert fresh.mean() > Y.mean() + 2  # the new data, not the first fit's


def test_validation_checks_pooled_mean_and_new_group():
    """The coverage study gets the pooled mean's and the next group's intervals as rows of
    their own, each against its own truth from the twin."""
    from causal.validate import run_validation

    t = run_validation(SPEC, 2, workers=1, estimators=["pooled_groups"])
    rows = t.set_index("estimand")
    assert {"ATT", "mu", "new_group"} <= set(rows.index)
    assert rows.loc["mu", "mean_truth"] == pytest.approx(0.25)  # the spec's mu_logodds
    assert rows.loc["new_group", "mean_width"] > rows.loc["mu", "mean_width"]
    assert all(rows.loc[k, "with_number"] == 2 for k in ("ATT", "mu", "new_group"))
