"""Duration model: coverage of the 12-month work-probability difference, AOW exits never
counted as successes, errors, the curves, and the spec end to end."""
from __future__ import annotations

import numpy as np
import pytest

from causal.errors import DataError
from causal.estimators import get
from causal.spec import load_spec
from causal.study import Study
from causal.twins import make_twin

IDV = "data_specs/uwv_intensive_services_duration.yaml"


def study_of(seed: int, n: int = 1500, **over) -> Study:
    spec = load_spec(IDV)
    tw = make_twin(spec, seed=seed, n=n, **{"months": 13, **over})
    return Study(spec=spec, data=tw.data, source=f"twin seed {seed}", truth=tw.truth,
                 covariates=["sex", "education", "health_limitation"])


def fit(study: Study, **opts):
    info = get("duration")
    return info.fit(study, info.options.model_validate(
        {**study.spec.estimator_options("duration"), **opts}))[0]


@pytest.mark.slow
def test_duration_covers_truth_at_nominal_rate():
    cover = 0
    for s in range(60):
        e = fit(study_of(s, true_effect_pp=4.0))
        assert e.estimand == "ITT"
        cover += e.covers_truth
    print(f"coverage: duration (ITT, P(work within 12 months)) {cover}/60")
    assert cover >= 53, f"duration interval covered the truth in {cover}/60 seeds"


def test_aow_exits_are_not_successes():
    """Many reach the AOW age within 12 months. Coding their exits as 'work' changes
    nothing (the AOW date ends the risk set); counting them would inflate the chance of work."""
    st = study_of(11, n=3000, age=(62, 67))
    d = st.data
    assert (d.exit_type == "aow").sum() > 300
    e = fit(st)
    miscoded = d.copy()
    miscoded["exit_type"] = miscoded["exit_type"].where(miscoded["exit_type"] != "aow", "work")
    e2 = fit(Study(spec=st.spec, data=miscoded, source="miscoded", truth=st.truth,
                   covariates=st.covariates))
    assert e2.net == pytest.approx(e.net) and e2.gross == pytest.approx(e.gross)
    assert any("AOW date" in w for w in e2.warnings)
    # the model's chance of work among the treated is close to the truth ...
    assert abs(e.gross - st.truth["P_work_treated"]) < 3.0
    # ... while counting AOW exits as work would be visibly higher
    t = d[d.assigned == 1]
    counted = ((t.exit_type.isin(["work", "aow"])) & (t.months_on_ww <= 12)).mean() * 100
    assert counted > e.gross + 10


def test_bootstrap_interval_agrees_with_delta():
    st = study_of(5)
    a = fit(st)
    b = fit(st, interval="bootstrap", bootstrap=60)
    assert b.net == pytest.approx(a.net)
    assert b.se == pytest.approx(a.se, rel=0.35)


def test_curves_figure():
    e = fit(study_of(6))
    fig = e.figures["cumulative_incidence"]()
    assert fig.axes[0].get_xlabel() == "months since inflow"
    c1 = np.array(e.diagnostics["cif_treated"])
    assert np.all(np.diff(c1) >= 0) and c1[-1] == pytest.approx(e.gross, rel=0.2)


def test_missing_event_column_named():
    with pytest.raises(DataError, match="exit_kind"):
        fit(study_of(7), event="exit_kind")


def test_spec_end_to_end():
    from causal.pipeline import estimate, prepare

    st = prepare(IDV, n=1500, seed=3)
    (e,) = estimate(st)
    assert e.net is not None and e.unit == "pp" and "cumulative_incidence" in e.figures


def test_hazard_fit_matches_statsmodels():
    """The chunked Newton fit and its person-clustered covariance equal statsmodels' GLM on
    the expanded person-months (chunks forced small so several are used)."""
    import statsmodels.api as sm

    from causal.estimators import duration_hazard as dh

    rng = np.random.default_rng(4)
    n, H = 700, 6
    r = rng.integers(0, H + 1, n)
    cause = np.where((r > 0) & (rng.random(n) < 0.5), 1, 0).astype(np.int8)
    cause[(cause == 0) & (r > 0) & (rng.random(n) < 0.3)] = 2
    pm = dh.PersonMonths(r=r, cause=cause, mta=rng.uniform(3, 80, n), aow_months=np.full(n, H),
                         m0=rng.integers(0, 5, n), U=rng.uniform(3, 7, 5 + H),
                         Xs=rng.normal(size=(n, 2)), d=(rng.random(n) < 0.5).astype(float), H=H)
    causes = [dh.Cause("work", 1, np.array([0, 0, 1, 1, 2, 2])),
              dh.Cause("other", 2, np.zeros(H, dtype=int))]
    old = dh.CHUNK_ROWS
    dh.CHUNK_ROWS = 300
    try:
        fits = [dh.fit_logit(pm, c) for c in causes]
        V = dh.cluster_cov(pm, causes, [b for b, _ in fits], [h for _, h in fits])
    finally:
        dh.CHUNK_ROWS = old
    pi, ti = pm.rows(0, n)
    X = causes[0].design(pm, pi, ti)
    y = ((cause[pi] == 1) & (ti == r[pi] - 1)).astype(float)
    res = sm.GLM(y, X, family=sm.families.Binomial()).fit(
        tol=1e-12, cov_type="cluster", cov_kwds={"groups": pi})
    k = X.shape[1]
    np.testing.assert_allclose(fits[0][0], res.params, rtol=1e-8, atol=1e-10)
    # statsmodels' CR1 factor uses this cause's K; the joint one uses both causes' K
    K = V.shape[0]
    N = len(y)
    np.testing.assert_allclose(V[:k, :k] * (N - K) / (N - k), res.cov_params(), rtol=1e-7)


def test_competing_exits_are_neither_work_nor_censoring():
    """Exits to disability end the chance of work: counted as work they would inflate it,
    read as censoring they would too (those persons would still be 'at risk' of work)."""
    st = study_of(21, n=4000, competing_exits={"disability": 0.04})
    d = st.data
    n_dis = int((d.exit_type == "disability").sum())
    assert n_dis > 500
    e = fit(st)
    comp = e.diagnostics["competing_exits_within_horizon"]
    assert comp["disability"]["n"] == int(((d.exit_type == "disability")
                                           & (d.months_on_ww <= 12)).sum())
    assert e.diagnostics["exits_to_work_within_horizon"] == int(
        ((d.exit_type == "work") & (d.months_on_ww <= 12)).sum())
    assert abs(e.gross - st.truth["P_work_treated"]) < 2.5
    assert abs(e.net - st.truth["ITT"]) < 3 * e.se   # (30 seeds: mean z 0.05, SD 0.92)
    # the same data with disability read as censoring: P(work) visibly overstated
    as_cens = fit(st, censored=["censored", "disability"])
    assert "disability" not in as_cens.diagnostics["competing_exits_within_horizon"]
    assert as_cens.gross > st.truth["P_work_treated"] + 2.0
    # ... and with disability read as work, far more so
    dd = d.copy()
    dd["exit_type"] = dd["exit_type"].where(dd["exit_type"] != "disability", "work")
    as_work = fit(Study(spec=st.spec, data=dd, source="relabelled", truth=st.truth,
                        covariates=st.covariates))
    assert as_work.gross > as_cens.gross + 5.0


def test_exit_codes_must_be_named_when_competing_is_listed():
    st = study_of(22, n=1500, competing_exits={"disability": 0.02, "abroad": 0.003})
    with pytest.raises(DataError, match="'abroad'"):
        fit(st, competing=["disability"])
    e = fit(st, min_cause_exits=60)   # abroad is thin: pooled, with a warning
    assert any("pooled" in w for w in e.warnings)
