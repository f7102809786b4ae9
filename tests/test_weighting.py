"""ipw and aipw: coverage on twins, balance and effective sample size, trimming."""
from __future__ import annotations

import numpy as np
import pytest

from causal.pipeline import prepare, run_estimator
from tests.conftest import fit_estimates
from tests.test_matching import twin_spec


@pytest.fixture(scope="module")
def twins():
    """The 100 twins of 1,200 persons both coverage studies use (made once)."""
    spec = twin_spec(n=1200, true_effect_pp=6.0, effect_age_gradient=0.8)
    return [prepare(spec, seed=300 + s) for s in range(100)]


def _coverage(twins: list, name: str, options: dict) -> dict[str, list]:
    out: dict[str, list] = {}
    for st in twins:
        for e in fit_estimates(st, name, options):
            out.setdefault(e.estimand, []).append((e.net, e.truth, e.covers_truth))
    return out


def test_ipw_covers_att_and_ate(twins):
    """100 twins of 1,200 persons: Hajek IPW with influence-function intervals (accounting
    for the estimated logit) should cover each truth about 95 times; require >= 88."""
    res = _coverage(twins, "ipw", {"estimands": ["ATT", "ATE"]})
    for estimand in ("ATT", "ATE"):
        a = np.array(res[estimand], dtype=float)
        assert a[:, 2].sum() >= 88, (estimand, a[:, 2].sum())
        assert abs((a[:, 0] - a[:, 1]).mean()) < 3 * (a[:, 0] - a[:, 1]).std() / 10


def test_aipw_covers_att_and_ate(twins):
    """Cross-fitted AIPW (5 folds, logistic models): the same 100 twins; require >= 88."""
    res = _coverage(twins, "aipw", {"estimands": ["ATT", "ATE"]})
    for estimand in ("ATT", "ATE"):
        a = np.array(res[estimand], dtype=float)
        assert a[:, 2].sum() >= 88, (estimand, a[:, 2].sum())


def test_weighting_balances_and_reports_effective_sample_size():
    st = prepare(twin_spec(n=4000), seed=9)
    naive = run_estimator(st, "naive", refute=False)[0]
    ipw, = run_estimator(st, "ipw", {"estimands": ["ATT"]}, refute=False)
    aipw, = run_estimator(st, "aipw", {"estimands": ["ATT"]}, refute=False)
    bal = ipw.diagnostics["balance"]
    assert max(abs(r["smd_after"]) for r in bal) < 0.1 < max(abs(r["smd_before"]) for r in bal)
    ess = ipw.diagnostics["effective_sample_size_control"]
    assert 0 < ess < ipw.n_control
    assert abs(naive.net - naive.truth) > abs(ipw.net - ipw.truth)
    assert abs(naive.net - naive.truth) > abs(aipw.net - aipw.truth)
    assert ipw.figures["love_plot"]().axes


def test_trimming_drops_extreme_scores_and_drops_the_truth():
    spec = twin_spec(n=3000, selection={"motivation": 2.0, "age": -1.0})
    st = prepare(spec, seed=3)
    full, = run_estimator(st, "ipw", {"estimands": ["ATE"]}, refute=False)
    trim, = run_estimator(st, "ipw", {"estimands": ["ATE"], "trim": 0.1}, refute=False)
    assert trim.diagnostics["n_trimmed"] > 0
    assert trim.truth is None and full.truth is not None  # the trimmed estimand differs
    assert any("trimming" in w for w in trim.warnings)
    assert trim.diagnostics["effective_sample_size_control"] > 0


def test_refusal_flag_applies_to_weighting_too():
    st = prepare(twin_spec(n=600), seed=1)
    e, = run_estimator(st, "ipw", {"comparison_selected_on_outcome": True}, refute=False)
    assert e.net is None and "outcome" in e.reason
