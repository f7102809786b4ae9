"""The map of the seed reports' estimation problems (docs/measures.md) and the settling
designs of specs that cannot identify an effect (issue 21)."""
from __future__ import annotations

import re
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from causal.cli import app
from causal.errors import SpecError
from causal.power import design_effect, n_per_arm, settling_size, with_compliance
from causal.problem_map import PAGE, PROBLEMS, load_problems, render
from causal.spec import load_spec
from tests.conftest import ROOT, SPECS

#: problems per seed note, counted from section 8 of each (../shared/seed-notes/00N.md)
PER_REPORT = {"000": 12, "001": 10, "002": 14, "003": 13, "004": 14}


def test_docs_measures_is_current():
    """Fails when a spec or the problems file changed without `causal measures`."""
    assert (ROOT / PAGE).read_text(encoding="utf-8") == render(ROOT / PROBLEMS, SPECS), (
        "docs/measures.md is stale: run `causal measures` and commit it")


def test_every_problem_has_one_row():
    problems = load_problems(ROOT / PROBLEMS)
    counts = {r: sum(p.report == r for p in problems.problems) for r in PER_REPORT}
    assert counts == PER_REPORT
    page = (ROOT / PAGE).read_text(encoding="utf-8")
    for p in problems.problems:
        rows = re.findall(rf"^\| {p.report} \| {re.escape(p.number)} \|", page, re.M)
        assert len(rows) == 1, p.id


def test_every_named_spec_exists_or_is_pending():
    for p in load_problems(ROOT / PROBLEMS).problems:
        for name in p.specs:
            assert (SPECS / f"{name}.yaml").is_file() or p.pending, (p.id, name)


def test_every_not_identified_spec_says_what_would_settle_it():
    for path in sorted(SPECS.glob("*.yaml")):
        s = load_spec(path, check_files=False)
        if s.identification.status == "not_identified":
            assert s.identification.settle is not None, path.name
            assert s.identification.settle.design and s.identification.settle.data


def test_a_missing_spec_without_pending_is_an_error(tmp_path):
    data = yaml.safe_load((ROOT / PROBLEMS).read_text(encoding="utf-8"))
    data["problems"][0]["specs"] = ["no_such_spec"]
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(SpecError, match="no_such_spec"):
        render(f, SPECS)
    data["problems"][0]["pending"] = "someone"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert "`no_such_spec` (pending)" in render(f, SPECS)


def test_duplicate_problem_ids_are_an_error(tmp_path):
    data = yaml.safe_load((ROOT / PROBLEMS).read_text(encoding="utf-8"))
    data["problems"].append(dict(data["problems"][0]))
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(SpecError, match="twice"):
        load_problems(f)


def test_measures_check_exits_1_when_stale(tmp_path):
    page = tmp_path / "measures.md"
    shutil.copy(ROOT / PAGE, page)
    args = ["measures", "--problems", str(ROOT / PROBLEMS), "--specs", str(SPECS),
            "--out", str(page)]
    assert CliRunner().invoke(app, [*args, "--check"]).exit_code == 0
    page.write_text(page.read_text(encoding="utf-8") + "\nedited by hand\n", encoding="utf-8")
    r = CliRunner().invoke(app, [*args, "--check"])
    assert r.exit_code == 1 and "stale" in r.output


def test_settling_size_is_the_power_arithmetic():
    plain = settling_size(0.15, 0.19)
    exact = n_per_arm(0.15, 0.19)
    assert plain["persons_per_arm"] % 5 == 0 and 0 <= plain["persons_per_arm"] - exact < 5
    # half take-up: the ITT sees half the effect, so about four times the persons
    half = settling_size(0.15, 0.19, compliance=0.5)
    assert half["p1_itt"] == pytest.approx(with_compliance(0.15, 0.04, 0.5))
    assert 3.5 < half["persons_per_arm"] / plain["persons_per_arm"] < 4.5
    # clusters of 40 with ICC 0.05: design effect 2.95
    cl = settling_size(0.15, 0.19, cluster_size=40, icc=0.05)
    assert design_effect(40, 0.05) == pytest.approx(2.95)
    assert cl["persons_per_arm"] == pytest.approx(exact * 2.95, abs=5)
    assert cl["clusters_per_arm"] == -(-cl["persons_per_arm"] // 40)


def test_report_page_shows_what_would_settle_it(tmp_path):
    from causal.report.writer import settle_info

    s = load_spec(SPECS / "inspectie_bijstand45plus.yaml")
    info = settle_info(s)
    assert "cluster" in info["design"] and info["size"]["clusters_per_arm"] > 1
    r = CliRunner().invoke(app, ["run", str(SPECS / "inspectie_bijstand45plus.yaml"),
                                 "--out", str(tmp_path), "-w", "1"])
    assert r.exit_code == 0, r.output
    for page in ("index.html", "report.md"):
        text = (tmp_path / "inspectie_bijstand45plus" / page).read_text(encoding="utf-8")
        assert "What would settle it" in text
        assert f"{info['size']['persons_per_arm']:,} persons per arm" in text
    summary = (tmp_path / "inspectie_bijstand45plus" / "summary.json").read_text(encoding="utf-8")
    assert f'"persons_per_arm": {info["size"]["persons_per_arm"]}' in summary
    shutil.rmtree(tmp_path / ".cache", ignore_errors=True)
    r = CliRunner().invoke(app, ["audit", str(tmp_path)])
    assert r.exit_code == 0, r.output
