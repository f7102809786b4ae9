"""Formula terms in confounders and adjustment sets, and the one design matrix of a Study
(causal.design): every estimator adjusts with the same columns."""
from __future__ import annotations

import numpy as np
import pytest

from causal.design import term_problem, term_variables
from causal.errors import DataError, SpecError
from causal.pipeline import prepare, run_estimator
from causal.spec import load_spec
from tests.conftest import SPECS


def test_term_variables_read_columns_not_functions():
    assert term_variables("C(education)") == ["education"]
    assert term_variables("I(age**2)") == ["age"]
    assert term_variables("age:sex") == ["age", "sex"]
    assert term_variables("bs(age, df=4)") == ["age"]
    assert term_variables("np.log(benefit_months)") == ["benefit_months"]
    assert term_problem("age") is None and term_problem("C(education)") is None
    assert "one term per list entry" in term_problem("age + sex")
    assert "not a transform" in term_problem("evil(age)")


def _focus(terms):
    spec = load_spec(SPECS / "almere_focus_op_werk.yaml")
    return spec.model_copy(update={"confounders": terms})


def test_integer_codes_become_categories_with_C():
    """Finding: a 5-level education code given as integers was used as one number."""
    spec = _focus(["C(edu_code)", "age", "motivation"])
    st0 = prepare(spec.model_copy(update={"confounders": ["age", "motivation"]}))
    df = st0.data.copy()
    df["edu_code"] = df["education"].cat.codes.astype(int) + 1  # 1..5 as integers
    st = prepare(spec, df)
    X = st.design_matrix()
    levels = sorted(df["edu_code"].unique())
    assert [c for c in X.columns if c.startswith("C(edu_code)")] == [
        f"C(edu_code)[T.{k}]" for k in levels[1:]]
    assert set(np.unique(X["C(edu_code)[T.2]"])) == {0.0, 1.0}


def test_squares_interactions_splines_in_the_matrix_and_every_estimator():
    terms = ["C(education)", "age", "I(age**2)", "age:sex", "bs(benefit_months, df=4)",
             "motivation", "conjunctuur"]
    st = prepare(_focus(terms))
    assert st.covariates == terms  # the graph keeps terms whose columns it adjusts for
    X = st.design_matrix()
    assert np.allclose(X["I(age ** 2)"], st.data["age"].astype(float) ** 2)
    assert sum(c.startswith("bs(benefit_months") for c in X.columns) == 4
    assert "Intercept" not in X.columns
    # the same encoding on a subset (levels and knots fixed on the full data)
    sub = st.data.iloc[:50]
    Xs = st.design_matrix(data=sub)
    assert list(Xs.columns) == list(X.columns)
    assert np.allclose(Xs.to_numpy(), X.iloc[:50].to_numpy())
    for name in ("ipw", "propensity_matching"):
        ests = run_estimator(st, name, {"estimands": ["ATT"]}, refute=False)
        assert ests[0].net is not None and ests[0].ci_low < ests[0].truth + 10


def test_rct_uses_the_study_matrix():
    spec = load_spec(SPECS / "almere_aanpak45plus.yaml")
    spec = spec.model_copy(update={"confounders": ["C(education)", "I(age**2)", "age"]})
    st = prepare(spec)
    e = run_estimator(st, "rct_difference", {}, refute=False)[0]
    assert e.diagnostics["n_covariates"] == st.design_matrix().shape[1]


def test_bad_term_is_a_spec_error_naming_the_field(tmp_path):
    text = (SPECS / "almere_focus_op_werk.yaml").read_text().replace(
        "confounders: [age, sex,", "confounders: [age + sex, sex,")
    p = tmp_path / "s.yaml"
    p.write_text(text.replace("../models/", str(SPECS.parent / "models") + "/"))
    with pytest.raises(SpecError, match=r"confounders\[0\].*one term per list entry"):
        load_spec(p)


def test_term_on_a_missing_column_names_it():
    spec = _focus(["C(nope)", "age"])
    spec = spec.model_copy(update={"graph": None})
    with pytest.raises(DataError, match="nope"):
        prepare(spec)


def test_formula_term_with_undefined_values_is_a_data_error():
    spec = _focus(["np.log(benefit_months)", "age"]).model_copy(update={"graph": None})
    st0 = prepare(spec.model_copy(update={"confounders": ["age"]}))
    df = st0.data.copy()
    df.loc[0, "benefit_months"] = 0.0
    with pytest.raises(DataError, match="infinite or undefined"):
        prepare(spec, df)  # found when the study is prepared (causal check), not mid-run
