"""Regression discontinuity at age 56: coverage with a jump, no false jump from a smooth age
gradient, errors, the RD plot, and the spec end to end."""
from __future__ import annotations

import numpy as np
import pytest

from causal.errors import DataError, EstimationError
from causal.estimators import get
from causal.spec import load_spec
from causal.study import Study
from causal.twins import make_twin

LKV = "data_specs/loonkostenvoordeel_rdd.yaml"


def study_of(seed: int, n: int = 1500, **over) -> Study:
    spec = load_spec(LKV)
    tw = make_twin(spec, seed=seed, n=n, **{"months": 12, **over})
    return Study(spec=spec, data=tw.data, source=f"twin seed {seed}", truth=tw.truth)


def fit(study: Study, **opts):
    info = get("rdd")
    return info.fit(study, info.options.model_validate(
        {**study.spec.estimator_options("rdd"), "density_test": False, **opts}))[0]


@pytest.mark.slow
def test_rdd_covers_the_jump():
    cover = 0
    for s in range(60):
        e = fit(study_of(s, true_effect_pp=1.5))
        assert e.estimand == "LATE_cutoff" and e.truth == pytest.approx(1.5, abs=0.01)
        cover += e.covers_truth
    print(f"coverage: rdd (jump 1.5 pp) {cover}/60")
    assert cover >= 52, f"RD interval covered the true jump in {cover}/60 seeds"


@pytest.mark.slow
def test_rdd_not_fooled_by_smooth_age_gradient():
    """True jump 0 with a steep, curved age gradient: the interval covers 0 at about 95%."""
    cover, nets = 0, []
    for s in range(60):
        e = fit(study_of(1000 + s, true_effect_pp=0.0, age_slope=-0.2, age_curvature=-0.02))
        cover += e.ci_low <= 0.0 <= e.ci_high
        nets.append(e.net)
    print(f"coverage: rdd (no jump, steep age gradient) covers 0 in {cover}/60")
    assert cover >= 52, f"RD interval covered zero in {cover}/60 seeds"
    assert abs(np.mean(nets)) < 0.5


def test_naive_comparison_around_cutoff_is_fooled_by_the_gradient():
    """A before/after-56 comparison of means within +-2 years picks up the age gradient."""
    st = study_of(5, n=6000, true_effect_pp=0.0, age_slope=-0.2, age_curvature=-0.02)
    d = st.data
    x, y = d.age_years, d.exit_to_work * 100
    naive = y[(x >= 56) & (x < 58)].mean() - y[(x >= 54) & (x < 56)].mean()
    e = fit(st)
    assert naive < -0.5
    assert e.ci_low <= 0.0 <= e.ci_high


def test_density_test_and_plot():
    st = study_of(2)
    e = fit(st, density_test=True)
    dt = e.diagnostics["density_test"]
    assert "Cattaneo" in dt["method"] and dt.get("p_value") is not None
    assert e.gross == pytest.approx(e.diagnostics["right_limit"])
    fig = e.figures["rd_plot"]()
    assert fig.axes[0].get_xlabel() == "age_years"


def test_density_test_detects_sorting():
    st = study_of(3, n=3000)
    d = st.data
    # drop most person-months just below the cutoff: a heap just above it
    drop = (d.age_years > 55.5) & (d.age_years < 56) & (np.arange(len(d)) % 4 != 0)
    st = Study(spec=st.spec, data=d[~drop].reset_index(drop=True), source="sorted", truth=st.truth)
    e = fit(st, density_test=True)
    assert e.diagnostics["density_test"]["p_value"] < 0.05
    assert any("sort" in w for w in e.warnings)


def test_fuzzy_treatment_is_refused():
    st = study_of(4)
    st.data.loc[st.data.index[:5], "lkv_eligible"] = 1 - st.data["lkv_eligible"].iloc[:5]
    with pytest.raises(EstimationError, match="fuzzy"):
        fit(st)


def test_missing_running_variable_named():
    with pytest.raises(DataError, match="agex"):
        fit(study_of(4), running="agex")


def test_constant_outcome_and_unfittable_data_are_clear_errors():
    st = study_of(4)
    st.data[st.outcome] = 0
    with pytest.raises(EstimationError, match="same value for everyone"):
        fit(st)



def test_an_rdrobust_failure_becomes_an_estimation_error(monkeypatch):
    import rdrobust

    def refuse(*a, **k):  # rdrobust raises bare Exceptions, e.g. for mass points
        raise Exception("Not enough variability in the running variable")

    monkeypatch.setattr(rdrobust, "rdrobust", refuse)
    with pytest.raises(EstimationError, match="rdrobust could not fit these data: Not enough"):
        fit(study_of(4))


def test_spec_end_to_end():
    from causal.pipeline import estimate, prepare

    st = prepare(LKV, n=1500, seed=9)
    by_name = {e.estimator: e for e in estimate(st)}
    assert set(by_name) == {"naive", "rdd"}
    e = by_name["rdd"]
    assert e.net is not None and "rd_plot" in e.figures
    # the naive 56+ vs under-56 comparison is dominated by the age gradient, not the jump
    assert by_name["naive"].net < e.net
    assert e.n_treated > 0 and e.diagnostics["n_in_bandwidth"]["counted_as"] == "persons"


def _mirrored(st: Study, c: float = 56.0) -> Study:
    """The same persons with the running variable reflected around the cutoff (x -> 2c - x,
    nudged so nobody lands exactly on it) and the treatment switched to below the cutoff."""
    df = st.data.copy()
    x = df["age_years"].to_numpy(float)
    df["age_years"] = 2 * c - x - 1e-9
    df["lkv_eligible"] = (df["age_years"] < c).astype(int)
    return Study(spec=st.spec, data=df, source="mirrored", truth=st.truth)


@pytest.mark.parametrize("kernel", ["triangular", "uniform", "epanechnikov"])
def test_treated_below_the_cutoff_equals_above_on_mirrored_data(kernel):
    st = study_of(6, n=2000, true_effect_pp=2.0)
    st.data["age_years"] = st.data["age_years"] + 1e-7  # no one exactly at the cutoff
    up = fit(st, kernel=kernel, cluster=None, bandwidth=3.0)
    down = fit(_mirrored(st), kernel=kernel, cluster=None, bandwidth=3.0, treated_side="below")
    assert down.net == pytest.approx(up.net, abs=1e-6)
    assert (down.ci_low, down.ci_high) == pytest.approx((up.ci_low, up.ci_high), abs=1e-6)
    assert down.gross == pytest.approx(up.gross, abs=1e-6)
    assert "below" in down.method and kernel in down.method


def test_below_cutoff_sharp_is_not_called_fuzzy():
    st = _mirrored(study_of(4))
    with pytest.raises(EstimationError, match="set option treated_side: below"):
        fit(st)


def test_both_intervals_reported_and_labelled():
    st = study_of(8, n=2000)
    rb = fit(st)
    conv = fit(st, interval="conventional")
    assert rb.net == conv.net
    d = rb.diagnostics
    assert (rb.ci_low, rb.ci_high) == pytest.approx(tuple(d["robust_bias_corrected"]["ci"]))
    assert (conv.ci_low, conv.ci_high) == pytest.approx(tuple(d["conventional"]["ci"]))
    assert d["conventional"]["estimate"] == rb.net
    assert rb.se == d["robust_bias_corrected"]["se"] and conv.se == d["conventional"]["se"]
    assert "robust bias-corrected" in rb.se_type and "conventional" in conv.se_type
    assert "conventional" in conv.interval


def test_mass_points_notice_becomes_a_warning():
    st = study_of(5, n=3000)
    st.data["age_years"] = np.floor(st.data["age_years"] * 2) / 2  # half years
    e = fit(st)
    assert any("mass points" in w for w in e.warnings)
