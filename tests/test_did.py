"""Difference in differences: coverage on panel twins, TWFE vs Callaway-Sant'Anna, pre-trends,
triple difference, and the two DiD specs end to end."""
from __future__ import annotations

import numpy as np
import pytest

from causal.errors import DataError, EstimationError
from causal.estimators import get
from causal.spec import load_spec
from causal.study import Study
from causal.twins import make_twin

OA = "data_specs/ontwikkeladvies_staggered.yaml"
SP = "data_specs/sectorplan_did.yaml"
NRP = "data_specs/no_riskpolis_ddd.yaml"

# staggered: three adoption waves, no never-treated units, effects that grow with time
GROWING = dict(periods=("2016Q1", "2018Q4"), freq="Q",
               groups={"a": {"share": 0.34, "first": "2016Q3", "last": "2016Q3"},
                       "b": {"share": 0.33, "first": "2017Q2", "last": "2017Q2"},
                       "c": {"share": 0.33, "first": "2018Q1", "last": "2018Q1"}},
               effect_pp=0.0, effect_growth_pp=2.0, base_rate=0.2, unit_sd_pp=3.0)


# the same design with a low-noise continuous outcome, where the TWFE bias stands out
SHARP = dict(periods=("2016Q1", "2017Q4"), freq="Q",
             groups={"a": {"share": 0.34, "first": "2016Q2"},
                     "b": {"share": 0.33, "first": "2016Q4"},
                     "c": {"share": 0.33, "first": "2017Q3"}},
             effect_pp=0.0, effect_growth_pp=4.0, base_rate=0.2, unit_sd_pp=3.0,
             continuous_sd=3.0)


def study_of(path: str, seed: int, n: int, kind: str | None = None, **over) -> Study:
    spec = load_spec(path)
    if kind:
        spec = spec.model_copy(update={"outcome": spec.outcome.model_copy(update={"kind": kind})})
    tw = make_twin(spec, seed=seed, n=n, **over)
    return Study(spec=spec, data=tw.data, source=f"twin seed {seed}", truth=tw.truth)


def fit(study: Study, name: str, **opts):
    info = get(name)
    return info.fit(study, info.options.model_validate({**study.spec.estimator_options(name),
                                                         **opts}))[0]


@pytest.mark.slow
def test_callaway_santanna_covers_truth_at_nominal_rate():
    cover = 0
    for s in range(40):
        st = study_of(OA, s, 300, **GROWING)
        e = fit(st, "did")
        assert "Callaway" in e.method
        cover += e.covers_truth
    print(f"coverage: did (Callaway-Sant'Anna, staggered, growing effects) {cover}/40")
    assert cover >= 35, f"CS covered the true ATT in {cover}/40 seeds"


def test_twfe_biased_where_callaway_santanna_is_right():
    """Staggered adoption, effects growing with time since adoption: plain TWFE uses
    already-treated units as controls and misses; Callaway-Sant'Anna covers."""
    cs_cover = tw_cover = 0
    bias_tw = []
    for s in range(10):
        st = study_of(OA, 100 + s, 300, kind="continuous", **SHARP)
        e = fit(st, "did")
        b, se = e.diagnostics["twfe"]["estimate"], e.diagnostics["twfe"]["se"]
        tw_cover += (b - 1.96 * se <= e.truth <= b + 1.96 * se)
        cs_cover += e.covers_truth
        bias_tw.append(b - e.truth)
        assert any("two-way fixed effects" in w for w in e.warnings)
    print(f"coverage: did CS {cs_cover}/10 vs plain TWFE {tw_cover}/10 (growing effects)")
    assert cs_cover >= 8
    assert tw_cover <= 1, f"TWFE covered in {tw_cover}/10 seeds; it should be biased here"
    assert np.mean(bias_tw) < -1.0


def test_effects_by_start_cohort_and_their_difference_cover_the_truth():
    """by_cohort (seed notes 003 P11): ATT(g) per start cohort and each later cohort's
    difference from the first; effects grow with time since adoption, so the cohorts' true
    effects differ (earlier cohorts have more post-periods). No unit stays untreated, so the
    last cohort has no comparison and no estimate of its own."""
    cover = cover_diff = rows = diffs = 0
    for s in range(10):
        st = study_of(OA, 300 + s, 300, kind="continuous", **SHARP)
        info = get("did")
        ests = info.fit(st, info.options.model_validate(
            {**st.spec.estimator_options("did"), "by_cohort": True}))
        cohorts = [e for e in ests if e.label.startswith("start cohort")]
        assert len(cohorts) == 2 and all(e.truth is not None for e in cohorts)
        assert abs(cohorts[0].truth - cohorts[1].truth) > 1  # the twin's cohorts differ
        rows += len(cohorts)
        cover += sum(e.covers_truth for e in cohorts)
        for e in cohorts[1:]:
            c = e.diagnostics["cohort_contrast"]
            true_diff = e.truth - cohorts[0].truth
            cover_diff += c["ci"][0] <= true_diff <= c["ci"][1]
            diffs += 1
    print(f"coverage: ATT(g) {cover}/{rows}, cohort differences {cover_diff}/{diffs}")
    assert cover >= 0.85 * rows and cover_diff >= 0.8 * diffs


@pytest.mark.slow
def test_simple_twfe_covers_with_one_adoption_date():
    cover = 0
    for s in range(50):
        st = study_of(SP, s, 200)
        # the spec clusters by sector (2 groups: no interval); the twin has no sector shocks
        e = fit(st, "did", cluster="person_id")
        assert "Two-way fixed effects" in e.method
        cover += e.covers_truth
    print(f"coverage: did (TWFE, one adoption date) {cover}/50")
    assert cover >= 44, f"TWFE covered in {cover}/50 seeds"


def test_event_study_flags_pretrend_violation():
    flagged_bad = flagged_ok = 0
    for s in range(8):
        bad = study_of(OA, 200 + s, 300, kind="continuous", **{**SHARP, "pretrend_pp": 6.0})
        ok = study_of(OA, 200 + s, 300, kind="continuous", **SHARP)
        flagged_bad += bool(fit(bad, "event_study").diagnostics.get("pretrend_flag"))
        flagged_ok += bool(fit(ok, "event_study").diagnostics.get("pretrend_flag"))
    assert flagged_bad >= 6
    assert flagged_ok <= 1


def test_event_study_has_pretrend_estimates_and_figure():
    st = study_of(OA, 3, 400, **GROWING)
    e = fit(st, "event_study")
    ev = e.diagnostics["event_time"]
    assert (ev.index < 0).sum() >= 3 and (ev.index >= 0).sum() >= 3
    assert e.truth == pytest.approx(st.truth["ATT_dynamic"])
    fig = e.figures["event_study"]()
    assert fig.axes and fig.axes[0].get_xlabel() == "periods since adoption"


def test_triple_difference_covers_truth():
    cover = 0
    for s in range(100):
        st = study_of(NRP, s, 2000)
        e = fit(st, "triple_difference", period=None)
        cover += e.covers_truth
    print(f"coverage: triple_difference {cover}/100")
    assert cover >= 90, f"DDD covered in {cover}/100 seeds"


def test_clustering_by_a_single_region_is_a_clear_error():
    st = study_of(NRP, 1, 2000)
    st.data["region"] = st.data["region"].astype(str).iloc[0]
    with pytest.raises(EstimationError, match="clustering by 'region' leaves one cluster"):
        fit(st, "triple_difference", period=None, cluster="region")


def test_plain_did_in_long_term_group_is_biased_but_ddd_is_not():
    """The cycle pulls the older band more after 2018: band x after alone is off."""
    st = study_of(NRP, 7, 60000, true_effect_pp=0.0, cycle_band_pp=-6.0)
    d = st.data
    lt = d[d.long_term == 1]
    y = lt.exit_to_work_6m * 100
    m = lambda b, a: y[(lt.band_56_61 == b) & (lt.after_2018 == a)].mean()  # noqa: E731
    plain = (m(1, 1) - m(1, 0)) - (m(0, 1) - m(0, 0))
    e = fit(st, "triple_difference", period=None)
    assert abs(plain) > 3.0
    assert e.ci_low <= 0.0 <= e.ci_high


def test_not_absorbing_treatment_is_an_error():
    st = study_of(OA, 1, 100, **GROWING)
    st.data.loc[st.data.index[-1], "oa_completed"] = 1 - st.data["oa_completed"].iloc[-1]
    with pytest.raises(EstimationError, match="absorbing"):
        fit(st, "did")


def test_missing_design_column_names_it():
    st = study_of(OA, 1, 100, **GROWING)
    with pytest.raises(DataError, match="nosuchcol"):
        fit(st, "did", period="nosuchcol")


@pytest.mark.parametrize("path", [OA, SP, NRP])
def test_specs_run_end_to_end_with_figures(path):
    from causal.pipeline import estimate, prepare

    st = prepare(path, n=400 if path != NRP else 4000, seed=1)
    ests = estimate(st)
    design = [e for e in ests if e.estimator != "naive"]
    assert design and all(e.net is not None for e in design)
    for e in design:
        assert e.figures or e.estimator == "did"
        for f in e.figures.values():
            assert f().axes


def test_event_figure_draws_no_bars_without_an_interval():
    """Two sectors: the headline has no interval, so the event-time figure draws the
    effects without error bars (errors from two clusters would draw intervals the estimate
    refuses) and says why; with intervals it draws the bars."""
    from matplotlib.collections import LineCollection

    st = study_of(SP, 1, 1200)
    e = fit(st, "event_study")
    assert e.ci_low is None
    fig = e.figures["event_study"]()
    ax = fig.axes[0]
    assert not any(isinstance(c, LineCollection) for c in ax.collections)
    assert "no interval: too few clusters" in [t.get_text() for t in ax.texts]
    nl = e.figures["event_study"](lang="nl")
    assert "geen interval: te weinig clusters" in [t.get_text() for t in nl.axes[0].texts]
    with_ci = fit(study_of(OA, 3, 400, **GROWING), "event_study")
    assert with_ci.ci_low is not None
    ax = with_ci.figures["event_study"]().axes[0]
    assert any(isinstance(c, LineCollection) for c in ax.collections) and not ax.texts
