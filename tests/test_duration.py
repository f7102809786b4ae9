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
