"""Twins carry the context: birth dates fit age and inflow, job finding falls towards the AOW
date and stops at it, the cycle moves base rates as the seed notes describe, and a twin
where participation rose during the boom shows what adjusting for conjunctuur and
months_to_aow is for."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal.context.aow import aow_date, months_to_aow
from causal.context.demo import (
    CONTEXT,
    PERSON,
    boom_demo,
    boom_spec,
    format_demo,
    regression_adjusted_att,
)
from causal.spec import Spec
from causal.twins import make_twin
from causal.twins.population import population


def ww_spec(**sim) -> Spec:
    """A WW-like inflow twin, 50 to the AOW age (seed notes 000 §6/§7)."""
    base = {"generator": "individual", "n": 30_000, "seed": 11, "age": [50, 67],
            "below_aow": True, "inflow": ["2015-01-01", "2019-12-31"], "base_rate": 0.55,
            "true_effect_pp": 0.0}
    base.update(sim)
    return Spec.model_validate({
        "measure": "ww_calibration", "title": "t", "source": {"report": "000"},
        "treatment": {"column": "d", "assignment": "randomized"},
        "outcome": {"column": "y", "kind": "binary", "horizon_months": 12},
        "confounders": ["age", "months_to_aow", "conjunctuur"],
        "estimators": [{"name": "naive"}], "simulation": base})


def test_birth_dates_consistent_with_age_and_inflow():
    df = population(5000, np.random.default_rng(4), age=(45, 67),
                    inflow=("2013-01-01", "2019-12-31"))
    exact = (df["inflow_date"] - df["birth_date"]).dt.days / 365.25
    # age is the whole years at inflow (birth date rounded to the day)
    assert (np.abs(exact - (df["age"] + 0.5)) <= 0.5 + 1 / 365).all()
    assert df["inflow_date"].dt.year.nunique() == 7


def test_below_aow_redraws_only_ages_past_it():
    a = population(5000, np.random.default_rng(9), age=(55, 67))
    b = population(5000, np.random.default_rng(9), age=(55, 67), below_aow=True)
    past = (aow_date(a["birth_date"]) <= a["inflow_date"]).to_numpy()
    assert past.sum() > 100
    assert not (aow_date(b["birth_date"]) <= b["inflow_date"]).any()
    same = ["person_id", "sex", "education", "benefit_months", "health_limitation",
            "region", "inflow_date"]
    pd.testing.assert_frame_equal(a[same], b[same])
    pd.testing.assert_series_equal(a.loc[~past, "birth_date"], b.loc[~past, "birth_date"])
    assert b["age"].between(55, 66).all()


def test_job_finding_falls_towards_aow_and_stops_at_it():
    spec = ww_spec(n=40_000, age=[50, 68], below_aow=False, inflow=["2017-01-01", "2018-12-31"])
    df = make_twin(spec).data
    m = months_to_aow(df["birth_date"], df["inflow_date"])
    bins = pd.cut(m, [-200, 0, 12, 24, 36, 48, 60, 120, 400], right=False)
    rate = df.groupby(bins, observed=True)["y"].mean()
    # nobody past the AOW date at inflow finds work within the horizon
    assert rate.iloc[0] == 0.0
    # job finding rises with the time left before the AOW date, over the last 5 years ...
    assert (np.diff(rate.iloc[:7].to_numpy()) > 0).all(), rate
    assert rate.iloc[1] < 0.1 * rate.iloc[-1]
    # ... and further from it the AOW date no longer matters
    assert abs(rate.iloc[-1] - rate.iloc[-2]) < 0.03, rate


def test_cycle_and_aow_calibrated_to_seed_notes_000_section_6():
    """Seed notes 000 §6/§7, regional WW exit to work 2016 -> 2018: ages 50-60 rose from
    55-67% to 64-76%, 60+ from 25-34% to 35-42%; yearly gains +4 to +12 pp; the 60+ group
    about 30 points below 50-60. The twin's level comes from base_rate (0.55); its
    movement over the years and the age gap come from the defaults cycle_effect and
    aow_effect. Each cell holds about 2,000-4,000 persons (sampling sd about 1 pp)."""
    df = make_twin(ww_spec()).data
    df["year"] = df["inflow_date"].dt.year
    df["band"] = np.where(df["age"] < 60, "50-60", "60+")
    rate = 100 * df.groupby(["band", "year"])["y"].mean().unstack()
    print("calibration: exit to work by age band and inflow year (%)\n"
          + rate[[2016, 2018]].round(1).to_string())
    ranges = {("50-60", 2016): (55, 67), ("50-60", 2018): (64, 76),
              ("60+", 2016): (25, 34), ("60+", 2018): (35, 42)}
    for (band, year), (lo, hi) in ranges.items():
        assert lo <= rate.loc[band, year] <= hi, (band, year, rate.loc[band, year])
    for band in ("50-60", "60+"):
        gain = rate.loc[band, 2018] - rate.loc[band, 2016]
        assert 4 <= gain <= 12, (band, gain)
        # the boom: every year from 2015 to 2019 at least as good as the one before
        assert (np.diff(rate.loc[band, [2015, 2016, 2017, 2018, 2019]]) > -1.5).all()
    gap = rate.loc["50-60", [2016, 2018]] - rate.loc["60+", [2016, 2018]]
    assert gap.between(25, 40).all(), gap


def test_calibration_fails_without_the_cycle():
    """The calibration test can fail: without a cycle effect the 2016 -> 2018 gain is gone."""
    df = make_twin(ww_spec(cycle_effect=0.0, n=20_000)).data
    df["year"] = df["inflow_date"].dt.year
    young = df[df["age"] < 60]
    gain = 100 * (young.loc[young.year == 2018, "y"].mean() - young.loc[young.year == 2016, "y"].mean())
    assert gain < 4


# -- the point of the toolkit ---------------------------------------------------------
def test_boom_demo_naive_far_off_adjusted_recovers_truth():
    r = boom_demo(0)
    assert r == boom_demo(0)  # deterministic by seed
    part = r["participation_by_year"]
    assert part[2019] > 3 * part[2013]  # participation rose during the boom
    assert r["naive"] - r["truth"] > 8
    lo, hi = r["adjusted_ci"]
    assert lo <= r["truth"] <= hi
    assert abs(r["adjusted"] - r["truth"]) < abs(r["naive"] - r["truth"]) / 3
    text = format_demo(r)
    assert "naive" in text and "conjunctuur" in text


def test_boom_adjustment_covers_truth_over_seeds():
    """Over 30 seeds the regression adjustment with conjunctuur and months_to_aow covers
    the true ATT at about the nominal rate and is unbiased; the naive comparison and the
    adjustment for person traits only are biased upwards in every seed."""
    from causal.pipeline import prepare

    seeds = range(30)
    cover, err, err_person, err_naive = 0, [], [], []
    for s in seeds:
        study = prepare(boom_spec(n=1500, seed=1000 + s))
        df, truth = study.data, study.truth["ATT"]
        full = regression_adjusted_att(df, "participated", "work_12m", PERSON + CONTEXT)
        person = regression_adjusted_att(df, "participated", "work_12m", PERSON)
        naive = 100 * (df.loc[df.participated == 1, "work_12m"].mean()
                       - df.loc[df.participated == 0, "work_12m"].mean())
        cover += full["ci_low"] <= truth <= full["ci_high"]
        err.append(full["net"] - truth)
        err_person.append(person["net"] - truth)
        err_naive.append(naive - truth)
    assert cover >= 25, cover
    assert abs(np.mean(err)) < 1.0, np.mean(err)
    assert min(err_naive) > 5
    assert np.mean(err_person) > 3


@pytest.mark.parametrize("spec_file", ["almere_aanpak45plus.yaml", "uwv_intensive_services.yaml"])
def test_specs_name_the_context_and_run_end_to_end(spec_file):
    from pathlib import Path

    from causal.pipeline import estimate, prepare

    spec = Path(__file__).resolve().parent.parent / "data_specs" / spec_file
    study = prepare(spec, n=3000)
    assert {"months_to_aow", "conjunctuur"} <= set(study.spec.confounders)
    assert {"months_to_aow", "conjunctuur"} <= set(study.data.columns)
    assert (study.data["months_to_aow"] > 0).mean() > 0.99
    ests = estimate(study)
    assert ests and all(e.net is not None for e in ests)


def test_uwv_spec_twin_matches_its_design():
    """BSN 8/9 -> control (about 20%), 65% of the assigned got follow-up services, 90% of
    the weak band 50+, no control received intensive services (seed notes 000 §4.2, §3.4)."""
    from pathlib import Path

    from causal.pipeline import prepare

    spec = Path(__file__).resolve().parent.parent / "data_specs" / "uwv_intensive_services.yaml"
    df = prepare(spec).data
    assert df["assigned"].mean() == pytest.approx(0.8, abs=0.02)
    assert df.loc[df.assigned == 1, "follow_up_services"].mean() == pytest.approx(0.65, abs=0.02)
    assert df.loc[df.assigned == 0, "follow_up_services"].sum() == 0
    assert (df["age"] >= 50).mean() == pytest.approx(0.9, abs=0.02)
    assert df.loc[df.assigned == 0, "job_12m"].mean() < 0.25  # weak band: below 25% by design
