"""The regression estimator against statsmodels on the same design, its options, and the
spec's treatment.assigned_by as the default cluster level."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from causal.errors import DataError, EstimationError
from causal.estimators import get
from causal.pipeline import prepare
from tests.conftest import SPECS

OBS = SPECS / "ontwikkeladvies_matching.yaml"


@pytest.fixture(scope="module")
def study():
    return prepare(OBS, n=3000)


def _fit(study, **opts):
    info = get("regression")
    return info.fit(study, info.options.model_validate(opts))[0]


def test_ols_equals_statsmodels_with_the_named_covariates(study):
    import statsmodels.api as sm

    e = _fit(study, covariates=["age", "education"], se="HC3")
    X = study.design_matrix(["age", "education"])
    X.insert(0, "d", study.d())
    ref = sm.OLS(study.y(), sm.add_constant(X.to_numpy(float))).fit(cov_type="HC3")
    assert abs(e.net - ref.params[1]) < 1e-8
    assert abs(e.se - ref.bse[1]) < 1e-8
    assert e.se_type == "HC3 robust" and e.n_clusters is None
    assert e.diagnostics["covariates"] == ["age", "education"]


def test_logit_ame_equals_statsmodels_margeff(study):
    import statsmodels.api as sm

    e = _fit(study, covariates=["age"], model="logit", se="HC1")
    X = sm.add_constant(np.column_stack([study.d(), study.data["age"].to_numpy(float)]))
    res = sm.Logit(study.y() / 100, X).fit(disp=0, cov_type="HC1")
    me = res.get_margeff(at="overall", dummy=True)
    assert abs(e.net - 100 * me.margeff[0]) < 1e-6
    assert abs(e.se - 100 * me.margeff_se[0]) < 1e-6
    assert "logit" in e.label


def test_cluster_option_and_its_errors(study):
    e = _fit(study, cluster="region", se="CR2", wild_draws=0)
    assert e.n_clusters == study.data["region"].nunique() and "CR2" in e.se_type
    assert e.diagnostics["inference"]["dof"] < e.n_clusters
    with pytest.raises(DataError, match="no_such_column"):
        _fit(study, cluster="no_such_column")
    with pytest.raises(EstimationError, match="needs a cluster column"):
        _fit(study, se="CR1")
    with pytest.raises(EstimationError, match="not in the data"):
        _fit(study, covariates=["nope"])


def test_assigned_by_makes_every_regression_se_cluster_there(spec_copy):
    path = spec_copy("ontwikkeladvies_matching.yaml")
    doc = yaml.safe_load(path.read_text())
    doc["treatment"]["assigned_by"] = "region"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    st = prepare(path, n=2000)
    e = _fit(st)
    assert e.n_clusters == st.data["region"].nunique() and "CR1 clustered by region" in e.se_type
    naive = get("naive")
    n = naive.fit(st, naive.options())[0]
    assert n.n_clusters == e.n_clusters
    # a person-level flavour asked for explicitly is honoured
    assert _fit(st, se="HC1").n_clusters is None
