"""Identification from the spec's graph with dowhy (causal.identify)."""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from causal.errors import NotIdentified, SpecError
from causal.identify import _identify, backdoor_set, identify, open_backdoor_path, parse_graph
from causal.pipeline import prepare
from causal.spec import Spec

ROOT = Path(__file__).resolve().parents[1]


def _spec(tmp_path: Path, dot: str, **kw) -> Spec:
    g = tmp_path / "g.dot"
    g.write_text(dot)
    spec = Spec.model_validate(dict(
        measure="idtest", title="t", source={"report": "t"},
        treatment={"column": "d", "assignment": kw.pop("assignment", "observational")},
        outcome={"column": "y", "kind": "binary"},
        confounders=kw.pop("confounders", ["a", "b"]), graph=str(g),
        estimators=[{"name": "naive"}]))
    return spec


def _df(cols):
    import pandas as pd

    return pd.DataFrame({c: [0, 1] for c in cols})


def test_rct_spec_keeps_its_precision_covariates():
    st = prepare(ROOT / "data_specs/almere_aanpak45plus.yaml", n=400)
    assert st.covariates == list(st.spec.confounders)
    assert "randomised" in st.adjustment_note and "bsn_parity" in st.adjustment_note


def test_observational_specs_adjust_for_the_context_confounders():
    for name in ("ontwikkeladvies_matching", "almere_focus_op_werk"):
        st = prepare(ROOT / f"data_specs/{name}.yaml", n=600)
        assert {"months_to_aow", "conjunctuur", "motivation", "age"} <= set(st.covariates)
        assert "dowhy" in st.adjustment_note and st.not_identified is None


def test_a_graph_with_an_unobserved_confounder_is_refused_naming_the_path(tmp_path):
    spec = _spec(tmp_path, 'digraph { d -> y; a -> d; a -> y; u -> d; u -> y; '
                           'u [observed="no"]; }')
    with pytest.raises(NotIdentified) as e:
        backdoor_set(spec, _df(["d", "y", "a"]))
    msg = str(e.value)
    assert "d <- u -> y" in msg and "observed" in msg and "not identified" in msg


def test_a_confounder_missing_from_the_data_is_named(tmp_path):
    spec = _spec(tmp_path, "digraph { d -> y; a -> d; a -> y; b -> d; b -> y; }")
    with pytest.raises(NotIdentified) as e:
        backdoor_set(spec, _df(["d", "y", "a"]))
    assert "'b' (not a column in the data)" in str(e.value)


def test_pipeline_records_the_refusal(tmp_path):
    import numpy as np
    import pandas as pd

    spec = _spec(tmp_path, 'digraph { d -> y; a -> d; a -> y; u -> d; u -> y; '
                           'u [observed="no"]; }', confounders=["a"])
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "d": rng.integers(0, 2, 200),
                       "y": rng.integers(0, 2, 200)})
    st = prepare(spec, data=df)
    assert st.not_identified and "d <- u -> y" in st.not_identified


def test_collider_is_not_adjusted_and_precision_covariates_are_added():
    # m is a collider (M-bias): the empty set is valid and m must stay out;
    # p predicts only the outcome (added for precision); z predicts only the treatment
    g = nx.DiGraph([("u1", "d"), ("u1", "m"), ("u2", "m"), ("u2", "y"), ("d", "y"),
                    ("c", "d"), ("c", "y"), ("p", "y"), ("z", "d")])
    res = identify(g, "d", "y", {"m", "c", "p", "z", "d", "y"})
    assert res.identified
    assert "m" not in res.adjustment and "z" not in res.adjustment
    assert set(res.backdoor) == {"c"} and "p" in res.precision
    assert open_backdoor_path(g, "d", "y", {"m", "c"}) == ["d", "u1", "m", "u2", "y"]
    assert open_backdoor_path(g, "d", "y", {"c"}) is None


def test_mediators_are_never_adjusted():
    g = nx.DiGraph([("d", "m"), ("m", "y"), ("c", "d"), ("c", "y")])
    res = identify(g, "d", "y", {"d", "m", "y", "c"})
    assert res.adjustment == ("c",)


def test_graph_errors_name_the_file_and_node(tmp_path):
    spec = _spec(tmp_path, "digraph { x -> y; }")
    with pytest.raises(SpecError) as e:
        backdoor_set(spec, _df(["d", "y"]))
    assert "treatment" in str(e.value) and "g.dot" in str(e.value)
    spec = _spec(tmp_path, "digraph { d -> y; y -> d; }")
    with pytest.raises(SpecError) as e:
        backdoor_set(spec, _df(["d", "y"]))
    assert "cycle" in str(e.value)


def test_gml_graphs_are_read():
    gml = ('graph [ directed 1 node [ id 0 label "d" ] node [ id 1 label "y" ] '
           'node [ id 2 label "a" observed "no" ] edge [ source 0 target 1 ] '
           'edge [ source 2 target 0 ] edge [ source 2 target 1 ] ]')
    g = parse_graph(gml, "gml")
    assert set(g.edges) == {("d", "y"), ("a", "d"), ("a", "y")}
    assert g.nodes["a"]["observed"] == "no"


def test_identification_is_cached_per_graph_content():
    before = _identify.cache_info().hits
    for _ in range(3):
        prepare(ROOT / "data_specs/almere_focus_op_werk.yaml", n=300)
    assert _identify.cache_info().hits >= before + 2
