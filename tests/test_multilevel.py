"""bayesian_multilevel: coverage of the national effect, shrinkage of region effects, exact
collapsing, dose-response, disclosure, output files and user errors.

Sampling is short (a few hundred draws); the heavy run is benchmarks/multilevel.py. Test
twins are well specified (outcome drivers are the model's covariates; one inflow year, ages
far from the AOW date), so a failure points at the estimator, not at the twin.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal.errors import DataError
from causal.estimators.multilevel import (
    MultilevelOptions,
    Structure,
    bayesian_multilevel,
    compiled,
    make_design,
    model_structure,
)
from causal.pipeline import prepare, run_estimator
from causal.spec import Spec, load_spec
from causal.twins import make_twin
from tests.conftest import SPECS

FAST = {"draws": 200, "tune": 200, "chains": 2}
COVS = ["sex", "education", "health_limitation"]
#: twelve projects of unequal size: most tests use this grouping, so one compiled model
#: (per outcome kind) serves them all
GROUPS = {f"g{k}": {"n_treated": 20 + 25 * k, "n_control": 60 + 40 * k} for k in range(12)}


def twin_spec(seed: int, n: int, *, kind: str = "binary", min_cell: int = 10,
              confounders: list[str] | None = None, **sim) -> Spec:
    sim = {"generator": "regions", "n": n, "seed": seed, "age": [50, 60],
           "group_column": "project", "groups": GROUPS,
           "inflow": ["2018-01-01", "2018-12-31"], "selection": {"education": 0.4,
                                                                 "health_limitation": -0.4},
           "outcome_effects": {"education": 0.2, "health_limitation": -0.5, "sex": 0.1},
           **sim}
    return Spec.model_validate({
        "measure": "test_regions", "title": "t", "source": {"report": "test"},
        "treatment": {"column": "d", "assignment": "observational"},
        "outcome": {"column": "y", "kind": kind, "horizon_months": 12},
        "confounders": COVS if confounders is None else confounders, "region": "region",
        "estimators": [{"name": "bayesian_multilevel"}], "simulation": sim,
        "disclosure": {"min_cell": min_cell}})


def study_of(spec: Spec):
    tw = make_twin(spec)
    st = prepare(spec, data=tw.data)
    st.truth = tw.truth
    return st, tw


def fit(study, **opts):
    return bayesian_multilevel(study, MultilevelOptions(**{**FAST, **opts}))


# --------------------------------------------------------------------------------------
# coverage and shrinkage (one set of fits)
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def region_fits():
    """Twelve groups of unequal size with effects that differ (logit sd 0.4), 8 seeds."""
    out = []
    for seed in range(8):
        spec = twin_spec(seed, 1600, effect_sd=0.4, true_effect_pp=6.0, min_cell=1)
        st, tw = study_of(spec)
        (est,) = fit(st, group="project", seed=seed)
        out.append((est, tw, st))
    return out


def test_national_interval_covers_truth(region_fits):
    covered = [e.covers_truth for e, _, _ in region_fits]
    assert all(c is not None for c in covered)
    # 95% intervals over 8 seeds: 7 or more cover unless the estimator is off (P(<=6) < 5%)
    assert sum(covered) >= 7, [(e.net, e.ci_low, e.ci_high, e.truth) for e, _, _ in region_fits]
    for e, _, _ in region_fits:
        assert e.interval == "95% credible interval" and e.unit == "pp"
        assert e.ci_low < e.net < e.ci_high


def test_pooled_region_effects_beat_raw_differences(region_fits):
    wins, total_pooled, total_raw = 0, 0.0, 0.0
    for est, tw, _ in region_fits:
        truth = tw.extras["group_att"]
        rows = [r for r in est.diagnostics["regions"] if r["raw"] is not None]
        pooled = sum((r["pooled"] - truth[r["group"]]) ** 2 for r in rows)
        raw = sum((r["raw"] - truth[r["group"]]) ** 2 for r in rows)
        wins += pooled < raw
        total_pooled += pooled
        total_raw += raw
    assert total_pooled < 0.8 * total_raw
    assert wins >= 6


def test_estimate_carries_diagnostics_figures_and_posterior(region_fits, tmp_path):
    import arviz as az
    from matplotlib.figure import Figure

    est, _, _ = region_fits[0]
    conv = est.diagnostics["convergence"]
    assert {"rhat", "ess_bulk", "ess_tail", "divergences"} <= set(conv)
    assert est.diagnostics["likelihood"] == "cells"
    assert est.diagnostics["n_cells"] < est.diagnostics["rows"]
    for make in est.figures.values():
        assert isinstance(make(), Figure)
    est.files["posterior.nc"](tmp_path / "posterior.nc")
    idata = az.from_netcdf(tmp_path / "posterior.nc")
    assert "national_effect" in idata.posterior
    assert idata.posterior.sizes["group"] == len(est.diagnostics["regions"])


# --------------------------------------------------------------------------------------
# collapsing is exact
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["binary", "continuous"])
def test_collapsed_log_density_equals_row_level(kind):
    """Same log density and gradient at random parameter values: cells lose nothing."""
    st, _ = study_of(twin_spec(1, 900, kind=kind, true_effect_pp=4.0))
    cells = make_design(st, MultilevelOptions(group="project"))
    rows = make_design(st, MultilevelOptions(group="project", collapse=False))
    assert len(cells.n) < len(rows.n) == 900
    s1, wi, we = model_structure(cells, MultilevelOptions())
    s2, _, _ = model_structure(rows, MultilevelOptions())
    assert s1 == s2  # one compiled model serves both
    c = compiled(s1)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = c.x0 + rng.normal(0, 0.5, c.ndim)
        a = c.logp(x, cells.g, cells.d, cells.X, cells.n, cells.y, cells.ss, cells.W, wi, we)
        b = c.logp(x, rows.g, rows.d, rows.X, rows.n, rows.y, rows.ss, rows.W, wi, we)
        assert a[0] == pytest.approx(b[0], rel=1e-9)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("kind", ["binomial", "squared_error"])
def test_likelihood_kernel_matches_numpy_and_finite_differences(kind):
    from causal.estimators.multilevel_kernels import evaluate

    rng = np.random.default_rng(1)
    C, G, P = 50, 4, 3
    g = rng.integers(0, G, C).astype(np.int64)
    d = rng.integers(0, 2, C).astype(float)
    X = rng.normal(size=(C, P))
    n = rng.integers(1, 30, C).astype(float)
    y = rng.binomial(n.astype(int), 0.4).astype(float) if kind == "binomial" else \
        rng.normal(size=C)
    mu, tau, beta = rng.normal(size=G), rng.normal(size=G), rng.normal(size=P)

    def ref(mu, tau, beta):
        eta = mu[g] + d * tau[g] + X @ beta
        if kind == "binomial":
            return float(np.sum(y * eta - n * np.logaddexp(0, eta)))
        return float(np.sum(n * (y - eta) ** 2))

    v, dmu, dtau, dbeta = evaluate(kind, mu, tau, beta, g, d, X, n, y)
    assert v == pytest.approx(ref(mu, tau, beta), rel=1e-10)
    h = 1e-6
    for vec, grad in ((mu, dmu), (tau, dtau), (beta, dbeta)):
        for j in range(len(vec)):
            up, dn = vec.copy(), vec.copy()
            up[j] += h
            dn[j] -= h
            args = {id(mu): (up, tau, beta), id(tau): (mu, up, beta), id(beta): (mu, tau, up)}
            argd = {id(mu): (dn, tau, beta), id(tau): (mu, dn, beta), id(beta): (mu, tau, dn)}
            num = (ref(*args[id(vec)]) - ref(*argd[id(vec)])) / (2 * h)
            assert grad[j] == pytest.approx(num, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("family,P,Q", [("binomial", 3, 1), ("binomial", 0, 0),
                                         ("normal", 2, 2), ("normal", 0, 1)])
def test_sampler_log_density_is_the_pymc_models(family, P, Q):
    """The C callbacks nutpie samples (hand-written numba) give the pymc model's log density
    (up to its constant), gradient and trace values, whichever groups are centred."""
    from causal.estimators import multilevel_kernels as mk
    from causal.estimators.multilevel_design import Priors

    rng = np.random.default_rng(7)
    G, C = 5, 40
    pri = tuple(float(v) for v in rng.uniform(0.3, 2.0, len(Priors.model_fields)))
    c = compiled(Structure(family, G, P, Q, pri))
    g = rng.integers(0, G, C)
    d = rng.integers(0, 2, C).astype(float)
    X, n = rng.normal(size=(C, P)), rng.integers(1, 20, C).astype(float)
    X[:, 1:] = (rng.random((C, max(P - 1, 0))) < 0.3) - 0.3  # centred 0/1 columns
    X[: C // 2] = X[C // 2:]  # cells share covariate patterns (pack stores each once)
    y = (rng.binomial(n.astype(int), 0.4).astype(float) if family == "binomial"
         else rng.normal(size=C))
    ss = np.zeros(C) if family == "binomial" else rng.uniform(0, 3, C)
    W = rng.normal(size=(G, Q))
    wi, we = np.array([0, 1, 0, 1, 1.0]), np.array([1, 0, 0, 1, 0.0])
    buf = mk.pack(family, g, d, X, n, y, ss, W, wi, we, pri)
    normal = family == "normal"
    assert [nm for nm, _ in mk.layout(P, Q, normal, G)] == list(c.slices)
    assert [nm for nm, _ in mk.expanded(P, Q, normal, G)] == c.names
    consts = []
    for _ in range(4):
        x = rng.normal(size=c.ndim) * 0.7
        lp, grad = c.logp(x, g, d, X, n, y, ss, W, wi, we)
        ours = np.zeros(c.ndim)
        consts.append(lp - mk.log_density(x, buf, ours))
        np.testing.assert_allclose(ours, grad, rtol=1e-8, atol=1e-8)
        out = np.zeros(sum(k for _, k in mk.expanded(P, Q, normal, G)))
        mk.expand(x, buf, out)
        ref = np.concatenate([np.ravel(v) for v in c.expand(x, g, d, X, n, y, ss, W, wi, we)])
        np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
    assert np.ptp(consts) < 1e-8  # the same density, up to pymc's normalising constants


def test_between_sd_recovers_the_spread_of_groups():
    from causal.estimators.multilevel_model import between_sd

    rng = np.random.default_rng(3)
    k = 400
    se = rng.uniform(0.1, 0.3, k)
    z = rng.normal(size=(k, 1))
    for sd in (0.0, 0.3):
        est = 1.0 + 2.0 * z[:, 0] + rng.normal(0, np.sqrt(sd ** 2 + se ** 2))
        assert between_sd(est, se, z) == pytest.approx(sd, abs=0.05)
        assert between_sd(est, se) > 1.5  # without the predictor its spread is counted
    assert between_sd(np.array([0.0, 1.0]), np.array([0.1, np.inf])) == 0.0


@pytest.fixture(scope="module")
def large_groups():
    """12 groups of about 10,000 persons: effects that do not vary, and effects that do."""
    return {sd: study_of(twin_spec(21, 120_000, effect_sd=sd, true_effect_pp=4.0))[0]
            for sd in (0.0, 0.6)}


def test_auto_parameterisation_centres_what_the_data_pin_down(large_groups):
    """Centred exactly where a group's standard error is well below the groups' spread
    (Papaspiliopoulos, Roberts and Skold 2007): not by the standard error alone."""
    from causal.estimators.multilevel_model import _group_estimates

    o = MultilevelOptions(group="project")
    same, vary = (make_design(large_groups[sd], o) for sd in (0.0, 0.6))
    # nearly every group's effect has a small standard error (below the 0.1 once used as
    # the rule, which centred them)
    assert (_group_estimates(same)[4] < 0.1).sum() >= 11
    _, wi, we = model_structure(same, o)
    assert we.sum() == 0 and wi.sum() == 12   # effects do not vary: non-centred
    _, wi, we = model_structure(vary, o)
    assert we.sum() >= 10 and wi.sum() == 12  # effects vary far more than their se
    st, _ = study_of(twin_spec(21, 1200, effect_sd=0.6, true_effect_pp=4.0))
    _, wi, we = model_structure(make_design(st, o), o)
    assert we.sum() == 0                      # small groups: non-centred
    # few groups whose raw contrasts spread by selection on covariates (Experimenten Meer
    # Werk: 0.48 across 6 projects) centre no effect with a standard error of 0.19
    from causal.estimators.multilevel_model import between_sd

    st = prepare(load_spec(SPECS / "experimenten_meer_werk.yaml"))
    ome = MultilevelOptions(**st.spec.estimator_options("bayesian_multilevel"))
    d = make_design(st, ome)
    _, _, _, eff, eff_se = _group_estimates(d)
    assert (eff_se < 0.5 * between_sd(eff, eff_se, d.W)).sum() >= 1  # the spread alone would
    assert model_structure(d, ome)[2].sum() == 0


def test_auto_parameterisation_samples_better_than_the_other_form(large_groups):
    """The form picked takes fewer leapfrog steps per draw than the opposite one, with no
    divergences, on both twins (the wrong pick costs 2x or more, or diverges)."""
    for sd, other in ((0.0, "centred"), (0.6, "noncentred")):
        conv = {p: fit(large_groups[sd], group="project", parameterization=p,
                       seed=5)[0].diagnostics["convergence"] for p in ("auto", other)}
        assert conv["auto"]["divergences"] == 0, (sd, conv["auto"])
        assert (conv["auto"]["mean_leapfrog_steps"] < conv[other]["mean_leapfrog_steps"]
                or conv[other]["divergences"] > 0), (sd, conv)


def test_collapsed_and_row_level_posteriors_agree():
    st, _ = study_of(twin_spec(2, 700, true_effect_pp=5.0))
    opts = {"draws": 500, "tune": 250, "seed": 3, "group": "project"}
    (a,) = fit(st, **opts)
    (b,) = fit(st, collapse=False, **opts)
    assert a.diagnostics["likelihood"] == "cells" and b.diagnostics["likelihood"] == "rows"
    assert abs(a.net - b.net) < 0.15 * a.se
    assert b.se == pytest.approx(a.se, rel=0.15)


def test_same_seed_same_estimate(region_fits):
    a, _, st = region_fits[1]
    (b,) = fit(st, group="project", seed=1)
    assert a.net == b.net and a.ci_low == b.ci_low and a.ci_high == b.ci_high


# --------------------------------------------------------------------------------------
# continuous outcome, dose-response
# --------------------------------------------------------------------------------------
def test_continuous_outcome_covers_truth():
    st, _ = study_of(twin_spec(5, 1500, kind="continuous", true_effect_pp=3.0, effect_sd=1.0,
                               continuous_sd=8.0))
    (est,) = fit(st, group="project")
    assert est.unit != "pp"
    assert est.ci_low <= st.truth["ATT"] <= est.ci_high


def test_period_design_dose_response_and_unidentified_contrast():
    """The employer-services spec's twin with a strong dose effect: the dose-response interval
    covers the truth and excludes zero; the before/after contrast has no number."""
    spec = load_spec(SPECS / "werkgeversdienstverlening_regions.yaml")
    tw = make_twin(spec, seed=6, n=4000, dose_effect=0.25)
    st = prepare(spec, data=tw.data)
    st.truth = tw.truth
    out = bayesian_multilevel(st, MultilevelOptions(
        **{**spec.estimator_options("bayesian_multilevel"), **FAST}))
    att, dose = out
    assert att.net is None and "koerswijziging" in att.reason
    assert dose.estimand == "dose_response"
    assert dose.unit == "pp per extra WGD fte per 10,000 unemployed"
    assert dose.ci_low <= st.truth["dose_response"] <= dose.ci_high
    assert dose.ci_low > 0
    assert "posterior.nc" in dose.files


# --------------------------------------------------------------------------------------
# disclosure and user errors
# --------------------------------------------------------------------------------------
def test_small_groups_are_pooled_but_not_shown():
    groups = {**GROUPS, "g0": {"n_treated": 4, "n_control": 40}}
    st, _ = study_of(twin_spec(8, 5300, groups=groups))
    assert 0 < st.data.loc[st.data["project"] == "g0", "d"].sum() < 10
    (est,) = fit(st, group="project")
    shown = {r["group"] for r in est.diagnostics["regions"]}
    assert "g0" not in shown and {"g10", "g11"} <= shown
    assert est.diagnostics["suppressed_groups"] == 1
    assert "not shown" in est.diagnostics["disclosure"]
    assert est.n_treated == int(st.d().sum())  # the tiny group is in the estimate


def test_continuous_covariate_without_bin_runs_on_rows_with_a_warning():
    st, _ = study_of(twin_spec(9, 400, confounders=[*COVS, "benefit_months"]))
    d = make_design(st, MultilevelOptions(group="project"))
    assert d.row_level and any("bin:" in w for w in d.warnings)
    d2 = make_design(st, MultilevelOptions(group="project",
                                           bin={"benefit_months": [0, 6, 12, 24]}))
    assert not d2.row_level and len(d2.n) < 400


def test_user_errors_name_the_column():
    st, _ = study_of(twin_spec(10, 300))
    with pytest.raises(DataError, match="no_such"):
        make_design(st, MultilevelOptions(group="no_such"))
    st.data["dose"] = np.arange(len(st.data), dtype=float)
    with pytest.raises(DataError, match="constant within each project"):
        make_design(st, MultilevelOptions(group="project", effect_predictors=["dose"]))
    with pytest.raises(DataError, match="bin"):
        make_design(st, MultilevelOptions(group="project", bin={"education": 5}))


def test_structure_cache_is_shared():
    st, _ = study_of(twin_spec(11, 500))
    s, _, _ = model_structure(make_design(st, MultilevelOptions(group="project")),
                         MultilevelOptions())
    again = Structure("binomial", 12, s.n_coef, 0, s.priors)
    assert s == again and compiled(s) is compiled(again)


# --------------------------------------------------------------------------------------
# the bundled specs run end to end (small twins, short sampling)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["experimenten_meer_werk", "werkgeversdienstverlening_regions",
                                  "perspectief_op_werk"])
def test_specs_run_end_to_end(name):
    spec = load_spec(SPECS / f"{name}.yaml")
    st = prepare(spec, n=2500)
    opts = {**spec.estimator_options("bayesian_multilevel"), **FAST}
    out = run_estimator(st, "bayesian_multilevel", opts, refute=False)
    assert out and all(e.estimator == "bayesian_multilevel" for e in out)
    numbers = [e for e in out if e.net is not None]
    assert numbers, [e.reason for e in out]
    for e in numbers:
        assert e.interval == "95% credible interval"
        assert e.ci_low <= e.net <= e.ci_high
    if name != "experimenten_meer_werk":
        assert {e.estimand for e in out} == {"ATT", "dose_response"}
        assert next(e for e in out if e.estimand == "ATT").net is None
    assert isinstance(pd.DataFrame(out[0].diagnostics["regions"]), pd.DataFrame)


# --------------------------------------------------------------------------------------
# the regions twin: deterministic, calibrated to the seed notes
# --------------------------------------------------------------------------------------
def test_regions_twin_deterministic_and_calibrated():
    spec = load_spec(SPECS / "experimenten_meer_werk.yaml")
    a, b = make_twin(spec, seed=3, n=2000), make_twin(spec, seed=3, n=2000)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.truth == b.truth
    # each project's participants reproduce its published gross rate (000 §2.5)
    big = make_twin(spec, n=60_000).data
    treated = big[big["participant"] == 1].groupby("project", observed=True)["work_18m"]
    gross, n_t = treated.mean(), treated.size()
    for name, g in spec.simulation.model_dump()["groups"].items():
        p = g["gross_rate"]  # calibrated in expectation: allow 3 binomial standard errors
        assert abs(gross[name] - p) < 3 * np.sqrt(p * (1 - p) / n_t[name]), (name, gross[name])
    # the employer-services twin: case regions' rates before the Actieplan (000 §6)
    wgd = load_spec(SPECS / "werkgeversdienstverlening_regions.yaml")
    df = make_twin(wgd, n=200_000).data
    pre = df[df["actieplan_period"] == 0].groupby("region", observed=True)["exit_work_12m"]
    rate, n_c = pre.mean(), pre.size()
    for name, g in wgd.simulation.model_dump()["groups"].items():
        if p := g.get("control_rate"):
            assert abs(rate[name] - p) < 3 * np.sqrt(p * (1 - p) / n_c[name]), (name, rate[name])
    doses = df.groupby("region", observed=True)["wgd_fte_per_10k"].first()
    assert doses["Rijnmond"] == 4.05 and doses.nunique() > 30
