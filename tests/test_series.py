"""Aggregate series: interrupted time series and synthetic control on their twins, the
synthetic-control weights and placebo inference against pysyncon called directly, and the
series checks."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal.aggregate import series_wide
from causal.errors import DataError, SpecError
from causal.pipeline import prepare, run_estimator
from causal.spec import load_spec
from causal.twins import make_twin

SPECS = Path(__file__).resolve().parents[1] / "data_specs"
ITS = SPECS / "actieplan50plus_its.yaml"
SYNTH = SPECS / "almere_bijstand_synth.yaml"


def _study(path: Path, seed: int = 0, **overrides):
    spec = load_spec(path)
    tw = make_twin(spec, seed=seed, **overrides)
    st = prepare(spec, tw.data)
    st.truth = tw.truth
    return st


def test_its_recovers_the_twin_truth():
    ests = [run_estimator(_study(ITS, seed), "interrupted_time_series")[0] for seed in range(40)]
    truth = ests[0].truth
    nets = np.array([e.net for e in ests])
    ses = np.array([e.se for e in ests])
    # unbiased within its Monte Carlo error, and the intervals cover the truth at about 95%
    assert abs(nets.mean() - truth) < 3 * nets.std(ddof=1) / np.sqrt(len(nets))
    assert sum(e.covers_truth for e in ests) >= 34
    # the se matches the spread of the estimates (Newey-West's was 0.56 of it here)
    assert 0.7 < ses.mean() / nets.std(ddof=1) < 1.6
    hac = np.array([e.diagnostics["se_hac"] for e in ests])
    assert hac.mean() < ses.mean()


def test_its_without_the_aow_covariate_is_biased():
    """The AOW shift sits on the treated age group only: dropping the covariate must move the
    estimate away from the truth (so the covariate is doing the work, as EP10 says)."""
    spec = load_spec(ITS)
    bare = spec.model_copy(deep=True)
    bare.series.covariates = ["conjunctuur"]
    with_aow, without = [], []
    for seed in range(6):
        tw = make_twin(spec, seed=seed)
        with_aow.append(run_estimator(prepare(spec, tw.data), "interrupted_time_series")[0].net)
        without.append(run_estimator(prepare(bare, tw.data), "interrupted_time_series")[0].net)
    truth = tw.truth["ATT"]
    assert abs(np.mean(without) - truth) > 2 * abs(np.mean(with_aow) - truth)


def test_its_placebo_in_time_reported_with_counts():
    e = run_estimator(_study(ITS, 1), "interrupted_time_series")[0]
    ref = e.diagnostics["refutations"][0]
    assert ref["name"] == "placebo in time" and ref["p_value"] is not None
    rows = e.diagnostics["series"]
    assert all(r["n"] >= 10 for r in rows) and any(r["post"] for r in rows)
    assert e.n_treated == 1_300_000


def test_synthetic_control_recovers_the_twin_truth():
    ests = [run_estimator(_study(SYNTH, seed, donors=20), "synthetic_control",
                          {"variants": ["adh"]})[0] for seed in range(8)]
    nets = np.array([e.net for e in ests])
    truth = ests[0].truth
    assert abs(nets.mean() - truth) < 3 * nets.std(ddof=1) / np.sqrt(len(nets)) + 0.03
    assert sum(e.covers_truth for e in ests) >= 6


def _small(seed: int = 3):
    st = _study(SYNTH, seed, donors=8)
    Y, _, treated, donors, post = series_wide(st)
    return Y, treated, donors, ~post


def _pysyncon_dataprep(Y, treated, donors, pre):
    from pysyncon import Dataprep

    long = Y.reset_index(drop=True).rename_axis("t").reset_index().melt(
        id_vars="t", var_name="unit", value_name="y")
    pre_t = list(np.flatnonzero(pre))
    return Dataprep(foo=long, predictors=[], predictors_op="mean", dependent="y",
                    unit_variable="unit", time_variable="t", treatment_identifier=treated,
                    controls_identifier=donors, time_predictors_prior=pre_t,
                    time_optimize_ssr=pre_t,
                    special_predictors=[("y", [t], "mean") for t in pre_t])


def test_synth_weights_match_pysyncon():
    from pysyncon import AugSynth, Synth

    from causal.estimators.synth import _dataprep, fit_weights

    Y, treated, donors, pre = _small()
    w, _ = fit_weights(Y, treated, donors, pre, "adh")
    ref = Synth()
    ref.fit(_pysyncon_dataprep(Y, treated, donors, pre), custom_V=np.ones(int(pre.sum())))
    # pysyncon's own SLSQP, run to a tight tolerance, lands on the same weights
    Z0 = Y.loc[pre, donors].to_numpy()
    Z1 = Y.loc[pre, treated].to_numpy()
    sd = np.c_[Z0, Z1].std(axis=1, ddof=1)
    w_ref, _ = Synth.w_optimize(np.eye(len(sd)), Z0 / sd[:, None], Z1 / sd,
                                qp_options={"maxiter": 5000, "ftol": 1e-14})
    assert np.abs(w - w_ref).max() < 1e-3
    assert np.abs(w - np.asarray(ref.W)).max() < 0.05  # the library's default stop
    assert abs(w.sum() - 1) < 1e-9 and (w >= 0).all()

    wa, lam = fit_weights(Y, treated, donors, pre, "augmented")
    aug = AugSynth()
    with contextlib.redirect_stdout(io.StringIO()):
        aug.fit(_dataprep(Y, treated, donors, pre), lambda_=lam, use_covariates=False)
    assert np.abs(wa - np.asarray(aug.W)).max() < 2e-3


def test_placebo_inference_matches_pysyncon_placebo_test():
    from pysyncon import Synth
    from pysyncon.utils import PlaceboTest

    from causal.estimators.synth import permutation_p, placebo_runs, rmspe_ratios

    Y, treated, donors, pre = _small()
    gaps, _, _ = placebo_runs(Y, treated, donors, pre, "adh")
    pt = PlaceboTest()
    with contextlib.redirect_stdout(io.StringIO()):
        pt.fit(_pysyncon_dataprep(Y, treated, donors, pre), Synth(),
               scm_options={"custom_V": np.ones(int(pre.sum())),
                            "optim_options": {"maxiter": 1000}}, max_workers=1, verbose=False)
    theirs = pd.concat([pt.gaps, pt.treated_gap], axis=1)[[treated, *donors]]
    assert np.abs(theirs.to_numpy() - gaps.to_numpy()).max() < 0.05
    # the same ranking of RMSPE ratios gives the same permutation p-value
    theirs.index = gaps.index
    assert permutation_p(rmspe_ratios(theirs, pre), treated) == \
        permutation_p(rmspe_ratios(gaps, pre), treated)
    # and pysyncon's own p-value counts the same placebos (it omits the treated unit's own
    # +1 and splits at the intervention inclusively): compare on its definition
    t_int = int(np.flatnonzero(~pre)[0])
    p_lib = pt.pvalue(treatment_time=t_int)
    all_ = pd.concat([pt.gaps, pt.treated_gap], axis=1)
    denom = all_.loc[:t_int].pow(2).sum() / len(all_.loc[:t_int])
    num = all_.loc[t_int:].pow(2).sum() / (len(all_) - len(all_.loc[:t_int]))
    r = num / denom
    assert p_lib == pytest.approx((r.drop(treated) >= r[treated]).sum() / len(r))


def test_synth_estimate_carries_weights_with_counts_and_figure(tmp_path):
    from causal.report.writer import render_figures

    st = _study(SYNTH, 0, donors=6)
    e = run_estimator(st, "synthetic_control", {"variants": ["adh"]})[0]
    assert e.diagnostics["weights"] and all(w["n"] > 0 for w in e.diagnostics["weights"])
    assert 1 / 7 <= e.diagnostics["p_value"] <= 1
    # 6 placebos: p-values in steps of 1/7 > 0.05, so no interval, said in words
    assert e.ci_low is None and e.ci_high is None
    assert any("unbounded" in w for w in e.warnings)
    render_figures([e], tmp_path)
    assert any(f.endswith("_series.png") for f in e.diagnostics["files"])


def test_series_data_errors():
    spec = load_spec(SYNTH)
    df = make_twin(spec, seed=0, donors=5).data
    with pytest.raises(DataError, match="not balanced"):
        prepare(spec, df.iloc[1:])
    with pytest.raises(DataError, match="treated unit"):
        prepare(spec, df[df["municipality"] != "Almere"])
    with pytest.raises(DataError, match="more than once"):
        prepare(spec, pd.concat([df, df.iloc[:1]]))
    bad = df.copy()
    bad["residents_45_aow"] = 0
    with pytest.raises(DataError, match="population"):
        prepare(spec, bad)
    early = df[df["year"] >= "2015-01-01"]
    with pytest.raises(DataError, match="at least 3 before"):
        prepare(spec, early)


def test_series_block_goes_with_series_assignment(tmp_path):
    text = SYNTH.read_text().replace("assignment: series", "assignment: observational")
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(SpecError, match="series"):
        load_spec(p)


def test_placebo_threshold_granularity():
    from causal.estimators.synth_inference import confidence_set, placebo_threshold

    assert placebo_threshold(18, 0.05) == 0  # 1/19 > 0.05: never rejects
    assert placebo_threshold(19, 0.05) == 1 and placebo_threshold(30, 0.05) == 1
    assert placebo_threshold(39, 0.05) == 2  # (1 + 1)/40 is not above 0.05
    cs = confidence_set(0.5, 1.0, np.arange(1.0, 19.0), 0.05)
    assert not cs["bounded"] and cs["low"] is None
    cs = confidence_set(0.5, 2.0, np.arange(1.0, 31.0), 0.05)
    assert cs["bounded"] and cs["level"] == pytest.approx(30 / 31)
    assert (cs["low"], cs["high"]) == pytest.approx((0.5 - 60.0, 0.5 + 60.0))


def test_confidence_set_is_the_inverted_placebo_test():
    """Refit everything with c subtracted from the treated unit's post-period outcomes: the
    placebo test rejects just outside the closed-form set and not just inside it."""
    from causal.estimators.synth import placebo_runs
    from causal.estimators.synth_inference import confidence_set, loo_rmspe

    Y, treated, donors, pre = _small(5)
    post = ~pre
    alpha = 0.25  # 8 placebos: steps of 1/9

    def stats_of(Yc):
        gaps, _, _ = placebo_runs(Yc, treated, donors, pre, "adh")
        sc = {u: loo_rmspe(Yc, u, [d for d in donors if d != u], pre) for u in donors}
        sc[treated] = loo_rmspe(Yc, treated, donors, pre)
        z = {u: abs(gaps.loc[post, u].mean()) / sc[u] for u in [treated, *donors]}
        return gaps.loc[post, treated].mean(), sc[treated], z

    g, s0, z = stats_of(Y)
    cs = confidence_set(g, s0, np.array([z[u] for u in donors]), alpha)
    assert cs["bounded"] and cs["low"] < g < cs["high"]
    for c, inside in [(cs["low"] + 1e-3, True), (cs["low"] - 1e-3, False),
                      (cs["high"] - 1e-3, True), (cs["high"] + 1e-3, False)]:
        Yc = Y.copy()
        Yc.loc[post, treated] -= c
        _, _, zc = stats_of(Yc)
        p = (1 + sum(zc[u] >= zc[treated] for u in donors)) / (len(donors) + 1)
        assert (p > alpha) == inside, (c, p)


def test_ar1_marginal_posterior_of_rho_matches_numerical_integration():
    """The closed-form marginal posterior of rho (Zellner and Tiao 1964) against the AR(1)
    likelihood with its full covariance, summed over a grid of beta and log sigma."""
    from scipy import linalg
    from scipy.special import logsumexp

    from causal.estimators.its_ar1 import GRID, ar1_posterior

    rng = np.random.default_rng(4)
    T = 25
    e = np.zeros(T)
    for t in range(T):
        e[t] = (0.6 * e[t - 1] if t else 0.0) + rng.normal(0, 1.0)
    X = np.c_[np.ones(T), np.arange(T) / T]
    y = X @ [1.0, 0.5] + e
    post = ar1_posterior(y, X, np.array([[0.0, 1.0]]))
    idx = [60, 98, 130, 160]
    b0, b1 = np.meshgrid(np.linspace(-6, 8, 141), np.linspace(-10, 11, 141), indexing="ij")
    B = np.c_[b0.ravel(), b1.ravel()]
    ls = np.linspace(-2.5, 2.5, 201)

    def log_marginal(r):  # flat on beta, flat on log sigma: sum over the grid
        S = linalg.toeplitz(r ** np.arange(T)) / (1 - r * r)
        L = np.linalg.cholesky(S)
        R = linalg.solve_triangular(L, (y[:, None] - X @ B.T), lower=True)
        q = (R**2).sum(axis=0)
        ll = (-T * ls[None, :] - q[:, None] / (2 * np.exp(2 * ls[None, :]))
              - np.log(np.diag(L)).sum())
        return logsumexp(ll)

    direct = np.array([log_marginal(GRID[i]) for i in idx])
    closed = np.log(post["weights"][idx])
    assert np.allclose(direct - direct[0], closed - closed[0], atol=0.02)
    assert 0.2 < post["rho_mean"] < 0.9


def test_studentised_interval_option():
    st = _study(SYNTH, 2, donors=10)
    perm = run_estimator(st, "synthetic_control", {"variants": ["adh"]})[0]
    stud = run_estimator(st, "synthetic_control", {"variants": ["adh"],
                                                   "interval": "studentised_t"})[0]
    assert perm.ci_low is None  # 10 placebos: the exact set is unbounded
    assert stud.ci_low < stud.net < stud.ci_high and stud.net == perm.net
    from scipy import stats
    half = stats.t.ppf(0.975, 9) * stud.se
    assert stud.ci_high - stud.net == pytest.approx(half)
