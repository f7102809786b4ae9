"""Sensitivity bounds benchmarked on observed confounders (causal.sensitivity.bounds) and
refuters judged in standard errors (causal.sensitivity.refute)."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from causal.pipeline import prepare, run_estimator
from causal.sensitivity.bounds import LinearBounds, _groups, benchmark_r2, study_bounds
from causal.sensitivity.refute import _refute_frame

TRAINING = "data_specs/sectorplan_training.yaml"


@pytest.fixture(scope="module")
def hidden():
    """Sector-plan training twin whose motivation proxy has reliability 0.5."""
    return prepare(TRAINING, n=6000, stress=["hidden_confounding:reliability=0.5"])


def test_linear_bound_matches_dowhy_on_a_twin(hidden):
    """Our per-confounder bound equals dowhy's own add_unobserved_common_cause
    (linear-partial-R2) benchmarked on that one covariate."""
    from dowhy import CausalModel

    df, names, _ = _refute_frame(hidden)
    lb = LinearBounds(df, _groups(names, list(hidden.covariates)))
    w = next(k for k, v in names.items() if v == "motivation")
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = CausalModel(data=df, treatment="d", outcome="y", common_causes=list(names))
        ident = m.identify_effect(proceed_when_unidentifiable=True)
        est = m.estimate_effect(ident, method_name="backdoor.linear_regression")
        r = m.refute_estimate(ident, est, method_name="add_unobserved_common_cause",
                              simulation_method="linear-partial-R2",
                              benchmark_common_causes=[w], effect_fraction_on_treatment=[1.0],
                              effect_fraction_on_outcome=[1.0], plot_estimate=False,
                              confounder_increases_estimate=True)
    theirs = r.benchmarking_results.iloc[0]
    ours = lb.benchmarks["motivation"]
    assert lb.estimate == pytest.approx(float(est.value), rel=1e-9)
    assert ours["r2_treatment"] == pytest.approx(float(theirs["r2tu_w"]), rel=1e-9)
    assert ours["r2_outcome"] == pytest.approx(float(theirs["r2yu_tw"]), rel=1e-9)
    assert lb.estimate - ours["bias"] == pytest.approx(float(theirs["bias_adjusted_estimate"]),
                                                       rel=1e-9)
    assert lb.rv == pytest.approx(float(r.stats["robustness_value"]), rel=1e-9)
    # a categorical confounder is benchmarked as the group of its dummies
    assert "education" in lb.benchmarks and len(_groups(names, hidden.covariates)["education"]) == 4


def test_benchmark_formula_grows_with_strength():
    a, b = benchmark_r2(0.05, 0.02), benchmark_r2(0.05, 0.02, k=2)
    assert b[0] > a[0] and b[1] > a[1]
    assert benchmark_r2(0.0, 0.0) == (0.0, 0.0)


def test_bound_on_the_proxy_contains_the_truth(hidden):
    """Half of motivation's variance is hidden; a hidden trait as strong as the observed
    proxy bounds it: the bound's interval contains the truth where the estimate's own
    interval may not."""
    truth = hidden.truth["ATT"]
    (ipw,) = run_estimator(hidden, "ipw")  # refuters on: the nonparametric bound
    b = ipw.diagnostics["sensitivity_bounds"]
    assert b["method"].startswith("Chernozhukov")
    mot = next(r for r in b["benchmarks"] if r["covariate"] == "motivation")
    assert ipw.net - truth > 1.0  # the estimate is biased upward by the hidden part
    assert mot["ci_low"] <= truth <= mot["ci_high"], (ipw.net, mot, truth)
    assert "as strong as motivation" in b["reading"]
    assert "sensitivity" in ipw.figures
    # the linear bound (refuters off): same claim
    (lin,) = run_estimator(hidden, "ipw", refute=False)
    lm = next(r for r in lin.diagnostics["sensitivity_bounds"]["benchmarks"]
              if r["covariate"] == "motivation")
    assert lm["ci_low"] <= truth <= lm["ci_high"], (lin.net, lm, truth)


def test_without_hidden_confounding_the_bound_is_small():
    st = prepare(TRAINING, n=3000)
    sb = study_bounds(st, nonparametric=False)
    stressed = study_bounds(prepare(TRAINING, n=3000, stress=["hidden_confounding:reliability=0.3"]),
                            nonparametric=False)
    # the exact motivation score explains more of selection than a noisy one: the benchmark
    # moves with what the data show, not with the truth
    assert sb["linear"].benchmarks["motivation"]["r2_treatment"] > \
        stressed["linear"].benchmarks["motivation"]["r2_treatment"]


def test_refuters_do_not_depend_on_the_outcome_scale(tmp_path):
    """Refuters judge their moves in standard errors: an outcome in euros (x 1000) gives the
    same verdicts and the same moves in standard errors."""
    from causal.sensitivity.refute import _run_refuters

    st = prepare(TRAINING, n=1500)
    base = _run_refuters(st, 5)
    scaled = prepare(TRAINING, n=1500)
    y = scaled.spec.outcome.column
    scaled.data[y] = scaled.data[y].astype(float) * 1000.0
    scaled.spec.outcome.kind = "continuous"
    big = _run_refuters(scaled, 5)
    for a, b in zip(base, big):
        assert a["name"] == b["name"] and a.get("passed") == b.get("passed")
        if "shift_se" in a:
            assert np.isfinite(a["shift_se"])
            assert b["shift_se"] == pytest.approx(a["shift_se"], rel=1e-6, abs=1e-9)


def test_a_benchmark_that_did_not_fit_gives_words_not_nan():
    """A nonparametric benchmark whose models did not fit (bias nan, seen at n = 600) is left
    out of the table; when none is left the reading says no bound was computed."""
    from types import SimpleNamespace

    from causal.sensitivity.bounds import bound_estimate

    lin = SimpleNamespace(benchmarks={}, rv=0.1, rv_alpha=0.05)
    est = SimpleNamespace(estimator="propensity_matching", net=2.0, ci_low=1.0, ci_high=3.0,
                          unit="pp")
    bad = {"bias": float("nan"), "r2_treatment": float("nan"), "r2_outcome": float("nan")}
    sb = {"linear": lin, "nonparametric": {"age": bad}, "np_n": 600, "note": ""}
    out = bound_estimate(est, sb)
    assert out["benchmarks"] == [] and "nan" not in out["reading"]
    assert out["reading"].startswith("No bound could be computed")
    good = {"bias": 0.5, "r2_treatment": 0.1, "r2_outcome": 0.1}
    sb["nonparametric"] = {"age": bad, "sex": good}
    out = bound_estimate(est, sb)
    assert [r["covariate"] for r in out["benchmarks"]] == ["sex"]
    assert "nan" not in out["reading"] and "1.5" in out["reading"]
