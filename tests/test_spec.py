"""Spec errors name the file, the field path, the line and what was expected."""
from __future__ import annotations

import re

import pytest
import yaml
from typer.testing import CliRunner

from causal.cli import app
from causal.errors import SpecError
from causal.spec import load_spec
from tests.conftest import SPECS


def _edit(path, fn):
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_every_bundled_spec_loads():
    specs = sorted(SPECS.glob("*.yaml"))
    assert specs
    for p in specs:
        s = load_spec(p)
        assert s.measure == p.stem, f"{p}: measure id should match the file name"


def test_missing_field(spec_copy):
    p = spec_copy()
    _edit(p, lambda d: d["treatment"].pop("column"))
    with pytest.raises(SpecError) as e:
        load_spec(p)
    msg = str(e.value)
    assert str(p) in msg and "treatment.column" in msg and "required" in msg
    assert e.value.line is not None


def test_unknown_key_is_an_error_with_its_line(spec_copy):
    p = spec_copy()
    text = p.read_text().replace("  kind: binary", "  kind: binary\n  horizon_mnths: 12")
    p.write_text(text)
    with pytest.raises(SpecError) as e:
        load_spec(p)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "horizon_mnths" in ln)
    assert "outcome.horizon_mnths" in str(e.value) and "not a known field" in str(e.value)
    assert e.value.line == line


def test_wrong_type(spec_copy):
    p = spec_copy()
    _edit(p, lambda d: d["outcome"].update(horizon_months="twelve"))
    with pytest.raises(SpecError, match=r"outcome\.horizon_months.*a whole number"):
        load_spec(p)


def test_wrong_literal_lists_the_choices(spec_copy):
    p = spec_copy()
    _edit(p, lambda d: d["treatment"].update(assignment="lottery"))
    with pytest.raises(SpecError, match=r"treatment\.assignment.*randomized"):
        load_spec(p)


def test_unknown_estimator_lists_known_ones(spec_copy):
    p = spec_copy()
    _edit(p, lambda d: d["estimators"].append({"name": "magic_forest"}))
    with pytest.raises(SpecError) as e:
        load_spec(p)
    assert "estimators[2].name" in str(e.value) and "rct_difference" in str(e.value)


def test_unknown_estimator_option(spec_copy):
    p = spec_copy()
    _edit(p, lambda d: d["estimators"][1]["options"].update(adjsut="lin"))
    with pytest.raises(SpecError, match=r"estimators\[1\]\.options\.adjsut.*not a known option"):
        load_spec(p)


def test_unknown_simulation_parameter(spec_copy):
    p = spec_copy()
    _edit(p, lambda d: d["simulation"].update(base_rat=0.1))
    with pytest.raises(SpecError, match=r"simulation\.base_rat"):
        load_spec(p)


@pytest.mark.parametrize("field", ["selection", "outcome_effects"])
def test_unknown_twin_trait_names_the_field_and_the_known_traits(spec_copy, field):
    """A trait the generator does not have is a spec error at check time, not a KeyError
    when the twin is drawn (found by the fuzz test)."""
    p = spec_copy()
    _edit(p, lambda d: d["simulation"].setdefault(field, {}).update(colour=0.5))
    with pytest.raises(SpecError, match=rf"simulation\.{field}.*'colour' is not a person "
                                        r"trait.*expected one of: age, education") as e:
        load_spec(p)
    assert "Value error" not in str(e.value)


@pytest.mark.parametrize("spec_name, edit, message", [
    ("almere_aanpak45plus.yaml", {"inflow": ["", "2018-12-31"]},
     r"simulation\.inflow\.0.*expected a date such as 2018-01-01"),
    ("almere_aanpak45plus.yaml", {"inflow": ["2019-01-01", "2018-12-31"]},
     r"simulation\.inflow.*2019-01-01\) is after the second"),
    ("sectorplan_did.yaml", {"periods": ["2016Q1", "x"]},
     r"simulation.*periods: 'x' is not a period of frequency"),
])
def test_bad_twin_dates_are_spec_errors(spec_copy, spec_name, edit, message):
    """Dates and periods in a simulation block are checked when the spec loads (the fuzz test
    found an empty inflow date that crashed the twin)."""
    p = spec_copy(spec_name)
    _edit(p, lambda d: d["simulation"].update(edit))
    with pytest.raises(SpecError, match=message):
        load_spec(p)


def test_broken_yaml_gives_line(spec_copy):
    p = spec_copy()
    p.write_text(p.read_text().replace("title: Almere", "title: [Almere"))
    with pytest.raises(SpecError) as e:
        load_spec(p)
    assert "not valid YAML" in str(e.value) and e.value.line is not None


def test_python_tags_are_refused(spec_copy):
    p = spec_copy()
    p.write_text("!!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(p)


def test_duplicate_keys_are_refused(spec_copy):
    p = spec_copy()
    p.write_text(p.read_text() + "\ntitle: again\n")
    with pytest.raises(SpecError, match="duplicate key 'title'"):
        load_spec(p)


def test_missing_graph_file(spec_copy):
    p = spec_copy()
    _edit(p, lambda d: d.update(graph="../models/nope.dot"))
    with pytest.raises(SpecError, match=r"field 'graph'.*does not exist"):
        load_spec(p)


def test_bad_measure_id(spec_copy):
    p = spec_copy()
    _edit(p, lambda d: d.update(measure="Almere 45+"))
    with pytest.raises(SpecError, match=r"field 'measure'.*lower-case"):
        load_spec(p)


def test_cli_check_exit_codes(spec_copy):
    runner = CliRunner()
    p = spec_copy()
    ok = runner.invoke(app, ["check", str(p)])
    assert ok.exit_code == 0, ok.output
    _edit(p, lambda d: d.pop("outcome"))
    bad = runner.invoke(app, ["check", str(p)])
    assert bad.exit_code == 2
    shown = bad.stdout + bad.stderr
    assert re.search(r"field 'outcome'.*required", shown)
    assert "Traceback" not in shown


def test_headline_gross_is_never_a_count_or_an_output():
    from causal.spec import headline_reported

    out = {"label": "reached", "value": 30452, "unit": "count", "role": "output"}
    share = {"label": "got services", "value": 65, "unit": "percent", "role": "output"}
    early = {"label": "work at 6 months", "value": 3.2, "unit": "percent"}
    same = {"label": "work at 12 months", "value": 54, "unit": "percent", "comparable": True}
    assert headline_reported([out, share]) is None
    assert headline_reported([out, share, early]) is early
    assert headline_reported([early, same]) is same
