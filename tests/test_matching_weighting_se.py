"""Matching with ties and the homoskedastic Abadie-Imbens variance; IPW's robust sandwich
beside the influence-function SE; every option documented by `causal estimators NAME`."""
from __future__ import annotations

import numpy as np
import pytest

from causal.estimators import get
from causal.pipeline import prepare
from tests.conftest import SPECS

OBS = SPECS / "ontwikkeladvies_matching.yaml"


@pytest.fixture(scope="module")
def study():
    return prepare(OBS, n=3000)


def _fit(name, study, **opts):
    info = get(name)
    return info.fit(study, info.options.model_validate(opts))[0]


def test_ties_averaged_on_a_categorical_score_is_subclassification(study):
    """With one categorical covariate every person of a category has the same score: the
    averaged-ties ATT compares each participant with ALL non-participants of the category
    (subclassification); first-found takes one arbitrary one."""
    study.covariates = ["education"]
    try:
        e = _fit("propensity_matching", study, caliper=None, ties="average")
        first = _fit("propensity_matching", study, caliper=None, ties="first")
    finally:
        study.covariates = prepare(OBS, n=50).covariates
    y, d = study.y(), study.d()
    cat = study.data["education"].astype(str).to_numpy()
    ref = np.mean([y[i] - y[(d == 0) & (cat == cat[i])].mean() for i in np.flatnonzero(d == 1)])
    assert e.net == pytest.approx(ref, abs=1e-9)
    assert e.diagnostics["ties"] == "averaged" and first.diagnostics["ties"] == "first found"
    assert e.diagnostics["mean_matches_per_treated"] > 10
    assert abs(first.net - ref) > 1e-6


def test_homoskedastic_variance_is_named_and_differs(study):
    het = _fit("propensity_matching", study)
    hom = _fit("propensity_matching", study, conditional_variance="homoskedastic")
    assert hom.net == het.net and hom.se != het.se
    assert "homoskedastic" in hom.se_type and "heteroskedastic" in het.se_type
    off = _fit("propensity_matching", study, variance="ai2006")
    assert off.se == pytest.approx(off.diagnostics["se_ai2006"])
    assert "AI 2016" not in off.se_type and "2016" in het.se_type


def test_ipw_sandwich_is_weighted_least_squares_hc1(study):
    import statsmodels.api as sm

    e = _fit("ipw", study, interval="sandwich")
    d = study.d()
    from causal.estimators.propensity import covariate_matrix, fit_propensity

    ps = fit_propensity(covariate_matrix(study), d)
    w = np.where(d == 1, 1.0, ps.p / (1 - ps.p))
    ref = sm.WLS(study.y(), sm.add_constant(d), weights=w).fit(cov_type="HC1")
    assert e.net == pytest.approx(ref.params[1], abs=1e-8)
    assert e.se == pytest.approx(ref.bse[1], rel=1e-8)
    assert "score treated as known" in e.se_type
    inf_ = _fit("ipw", study)
    assert inf_.se == pytest.approx(e.diagnostics["se_influence_function"])
    assert inf_.diagnostics["se_sandwich"] == pytest.approx(e.se)


def test_every_option_of_our_estimators_is_documented_in_the_cli():
    """`causal estimators NAME` prints each option with its type, default and the whole of
    its description (a wide console, so rich does not wrap it)."""
    import io

    from rich.console import Console
    from typer.testing import CliRunner

    import causal.cli as cli
    from causal import estimators as reg
    from causal.cli_print import print_estimator_options

    for name in ("naive", "rct_difference", "regression", "propensity_matching", "ipw",
                 "aipw", "did", "event_study", "triple_difference", "rdd", "dml",
                 "bayesian_multilevel"):
        buf = io.StringIO()
        print_estimator_options(Console(file=buf, width=3000), reg, name)
        text = buf.getvalue()
        for opt, f in reg.get(name).options.model_fields.items():
            assert f.description, f"{name}.{opt} has no description"
            line = next((ln for ln in text.splitlines() if f"│ {opt} " in ln), "")
            assert " ".join(f.description.split()) in line, (name, opt)
            assert repr(f.default if f.default_factory is None else f.default_factory()) \
                in line or f.is_required()
    bad = CliRunner().invoke(cli.app, ["estimators", "no_such"])
    assert bad.exit_code == 2 and "not a known estimator" in bad.output
