"""Dynamic matching on elapsed duration (Sianesi 2004) and its twin (seed notes 002 §8)."""
from __future__ import annotations

import numpy as np
import pytest

from causal.errors import DataError
from causal.pipeline import prepare, run_estimator
from causal.twins import make_twin
from tests.conftest import SPECS

SPEC = SPECS / "bijstand45plus_dynamic_timing.yaml"


def test_twin_truth_is_zero_without_an_effect():
    from causal.spec import load_spec

    tw = make_twin(load_spec(SPEC), n=800, effect_logit=0.0)
    assert tw.truth["ATT"] == pytest.approx(0.0, abs=1e-9)
    served = tw.data["trained_by_month_12"] == 1
    assert (tw.data.loc[served, "start_month"] <= 12).all()
    # those who found work before any start were never served: dynamic selection
    early = tw.data["exit_month"] < 3
    assert served[early].mean() < served[~early].mean()


def test_dynamic_matching_recovers_the_effect_where_the_naive_comparison_fails():
    nets, naive, truth = [], [], []
    for seed in (1, 2, 3):
        st = prepare(SPEC, seed=seed, n=2500)
        e = run_estimator(st, "dynamic_matching", refute=False)[0]
        nv = run_estimator(st, "naive", refute=False)[0]
        nets.append(e.net)
        naive.append(nv.net)
        truth.append(st.truth["ATT"])
        assert e.ci_low < e.net < e.ci_high and e.n_treated > 100
    bias = np.mean(np.array(nets) - np.array(truth))
    naive_bias = np.mean(np.array(naive) - np.array(truth))
    assert abs(bias) < 1.5, (nets, truth)
    assert naive_bias < -3, (naive, truth)   # the early leavers were never served


def test_missing_start_column_is_a_data_error():
    st = prepare(SPEC, n=600)
    with pytest.raises(DataError, match="start"):
        run_estimator(st, "dynamic_matching", {"start": "no_such_column"}, refute=False)
