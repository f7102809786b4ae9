"""Installing netto (issue 20): examples shipped with the package, optional extras named
when missing. The wheel and wheelhouse round trip is in tests/test_wheelhouse.py."""
from __future__ import annotations

import importlib.util

from typer.testing import CliRunner

from causal import estimators as reg
from causal.cli import app
from causal.errors import NettoError
from causal.examples import copy_examples
from causal.pipeline import prepare, run_estimator
from causal.spec import find_specs, load_spec
from tests.conftest import ROOT, SPECS


def test_examples_copy_every_spec_graph_and_notebook(tmp_path):
    files = copy_examples(tmp_path / "ex")
    specs = sorted(p.name for p in SPECS.glob("*.yaml"))
    assert sorted(f.name for f in files if f.parent.name == "data_specs") == specs
    assert {f.name for f in files if f.parent.name == "models"} == {
        p.name for p in (ROOT / "models").iterdir() if p.suffix == ".dot"}
    assert any(f.suffix == ".ipynb" for f in files)
    # the project folder stands for its data_specs/, and every copied spec loads there
    # (its relative graph path resolves inside the copy, not in the repository)
    found = find_specs(tmp_path / "ex")
    assert [p.name for p in found] == specs
    for p in found:
        s = load_spec(p)
        if s.graph_path is not None:
            assert (tmp_path / "ex") in s.graph_path.parents


def test_examples_never_overwrite_without_force(tmp_path):
    copy_examples(tmp_path)
    mine = tmp_path / "data_specs" / "almere_aanpak45plus.yaml"
    mine.write_text("edited by the user")
    r = CliRunner().invoke(app, ["examples", str(tmp_path)])
    assert r.exit_code == 2 and "--force" in r.output
    assert mine.read_text() == "edited by the user"
    r = CliRunner().invoke(app, ["examples", str(tmp_path), "--force"])
    assert r.exit_code == 0, r.output
    assert mine.read_text() != "edited by the user"


def _hide(monkeypatch, *modules):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.split(".")[0] in modules else real(name, *a))


def test_missing_extra_is_named_at_check_and_run(monkeypatch):
    spec = SPECS / "experimenten_meer_werk.yaml"
    study = prepare(load_spec(spec), n=400)
    _hide(monkeypatch, "pymc", "nutpie")
    msg = reg.missing_extra("bayesian_multilevel")
    assert "netto-effect[bayes]" in msg and "pymc" in msg
    assert reg.missing_extra("naive") is None
    try:
        run_estimator(study, "bayesian_multilevel")
    except NettoError as e:
        assert "netto-effect[bayes]" in str(e)
    else:
        raise AssertionError("expected the missing extra to be named")
    r = CliRunner().invoke(app, ["check", str(spec)])
    assert r.exit_code == 2 and "netto-effect[bayes]" in r.output


def test_a_module_missing_inside_fit_names_its_extra(monkeypatch):
    study = prepare(load_spec(SPECS / "ontwikkeladvies_matching.yaml"), n=400)
    info = reg.get("naive")

    def fit(study, opts):
        raise ModuleNotFoundError("No module named 'econml'", name="econml")

    monkeypatch.setitem(reg._REGISTRY._items, "naive", info.__class__(
        "naive", fit, info.options, info.assignments, info.doc))
    try:
        run_estimator(study, "naive")
    except NettoError as e:
        assert "netto-effect[ml]" in str(e)
    else:
        raise AssertionError("expected the missing extra to be named")
