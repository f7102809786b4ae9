"""Disclosure control as a guarantee (issue 13): the output gate and `causal audit`.

Adversarial data for each leak class: nothing under the threshold anywhere in what is
written, and the audit (which shares no code with the writer) agrees; a planted small figure
makes the audit fail.
"""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from causal.audit import audit
from causal.cli import app
from causal.pipeline import prepare, run_estimator
from causal.report import writer
from causal.report.gate import Gate, Rules, fmt_count, round_count
from causal.report.gate_figures import GatedFigure, merge_adjacent
from causal.simulate import simulate
from tests.conftest import ALMERE


def _write(study, names, out):
    ests = []
    for name in names:
        ests += run_estimator(study, name, refute=False)
    summary, _ = writer.write_measure_report(writer.study_info(study), ests, out)
    return summary


def _all_text(folder) -> str:
    return "\n".join(p.read_text(errors="ignore") for p in folder.rglob("*")
                     if p.is_file() and p.suffix in (".json", ".md", ".html", ".csv")
                     and ".cache" not in p.parts)  # the batch cache is not released


# -- the rules themselves --------------------------------------------------------------------
def test_counts_are_rounded_or_said_to_be_small():
    g = Gate(Rules())
    assert [g.count(x) for x in (0, 3, 9, 10, 12, 13, 1203)] == [0, "<10", "<10", 10, 10, 15, 1205]
    assert fmt_count(3) == "fewer than 10" and fmt_count(1203) == "about 1,205"
    assert round_count(7, 5) == 5 and round_count(7.5, 5) == 10
    assert "3" not in g.text("excluded 3 of 400 rows") and "400 rows" in g.text("3 of 400 rows")
    assert g.text("n = 1203, 12.345%") == "n = 1,205, 12.3%"
    assert g.text("6 of 6 group intercepts") == "6 of 6 group intercepts"  # not persons


def test_a_record_under_the_threshold_is_withheld_with_its_reason():
    g = Gate(Rules())
    out = g.tree({"cells": [{"cell": "a", "n": 4, "mean": 61.2}, {"cell": "b", "n": 40, "mean": 3.14159}]},
                 "diag")
    assert out["cells"][0] == {"suppressed": "fewer than 10 persons"}
    assert out["cells"][1] == {"cell": "b", "n": 40, "mean": 3.14}
    assert g.suppressed == [{"where": "diag.cells[0]", "reason": "rests on fewer than 10 persons"}]


def test_sparse_bins_are_merged_until_each_holds_min_cell():
    recs = [{"side": "left", "x_lo": i, "x_hi": i + 1, "n": n, "mean": float(i)}
            for i, n in enumerate([6, 9, 7, 30, 2])]
    merged = merge_adjacent(recs, 10, "side")
    assert all(r["n"] >= 10 for r in merged) and sum(r["n"] for r in merged) == 54
    assert merged[0]["x_lo"] == 0 and merged[0]["x_hi"] == 2  # 6 + 9
    assert merged[0]["mean"] == pytest.approx((0 * 6 + 1 * 9) / 15)


def test_dominance_and_degrees_of_freedom():
    g = Gate(Rules(dominance_share=0.5))
    assert "dominance" in g.why_not({}, dominance={"treated": 0.6})
    assert g.why_not({}, dominance={"treated": 0.4}) is None
    assert "degrees of freedom" in g.why_not({"n_treated": 20}, df=4)
    assert "fewer than 10" in g.why_not({"n_treated": 20}, {"n_treated_with_outcome": 0})


# -- adversarial data, end to end ------------------------------------------------------------
@pytest.fixture(scope="module")
def twin():
    return simulate(ALMERE, n=2000, seed=3).data


def test_five_treated_among_many(tmp_path, twin):
    """5 treated (3 found work): no estimate, no bruto, no exact count anywhere written, in
    the measure's report (if the data are accepted) or the batch's failure list."""
    df = twin.copy()
    df["assigned"] = 0
    df.loc[:4, "assigned"] = 1
    df["coached"] = df["assigned"]
    df.loc[:2, "found_work"] = 1
    df.loc[3:4, "found_work"] = 0
    data = tmp_path / "five.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(ALMERE), "--data", str(data), "--out", str(out),
                                 "-w", "1", "-q"])
    assert r.exit_code in (0, 1, 2), r.output  # 2: the data are refused as too few
    text = _all_text(out)
    assert "60.0" not in text and not re.search(r"\b5 of them|n_treated\": 5\b", text)
    s = out / "almere_aanpak45plus" / "summary.json"
    if s.exists():  # accepted: everything resting on the 5 is withheld, with the reason
        summary = json.loads(s.read_text())
        assert summary["gross_on_data"] is None
        assert all(e["gross"] is None and e["net"] is None for e in summary["estimates"])
        assert all(e["n_treated"] == "<10" for e in summary["estimates"])
    assert audit(out) == []


def test_population_filter_removing_three_rows(tmp_path, twin):
    df = twin.copy()
    df.loc[:2, "age"] = 30  # outside the population (age 45+)
    study = prepare(ALMERE, df)
    assert any("fewer than 10" in n for n in study.notes)
    _write(study, ["naive"], tmp_path / "m")
    text = _all_text(tmp_path / "m")
    assert not re.search(r"excluded 3\b", text) and "1997" not in text
    assert audit(tmp_path / "m") == []


def test_the_audit_finds_a_planted_small_figure(tmp_path, twin):
    study = prepare(ALMERE, twin)
    _write(study, ["naive"], tmp_path / "m")
    assert audit(tmp_path / "m") == []
    summary = tmp_path / "m" / "summary.json"
    s = json.loads(summary.read_text())
    s["estimates"][0]["diagnostics"]["by_region"] = [{"region": "Zeeland", "n": 3, "mean": 66.7}]
    summary.write_text(json.dumps(s))
    md = tmp_path / "m" / "report.md"
    md.write_text(md.read_text() + "\nOf the 4 persons in Zeeland, 3 of 4 found work (75.03%).\n")
    (tmp_path / "m" / "stray.png").write_bytes(b"\x89PNG")
    found = audit(tmp_path / "m")
    where = {(v.file, v.problem.split(" ")[0]) for v in found}
    assert any(v.file == "summary.json" and "by_region[0]" in v.where for v in found)
    assert any(v.file == "report.md" and "3 of 4" in v.where for v in found)
    assert any(v.file == "report.md" and "percentage" in v.problem for v in found)
    assert ("stray.png", "no") in where
    r = CliRunner().invoke(app, ["audit", str(tmp_path / "m")])
    assert r.exit_code == 1 and "by_region" in r.output


def test_audit_exit_codes(tmp_path):
    r = CliRunner().invoke(app, ["audit", str(tmp_path / "nothing-here")])
    assert r.exit_code == 2 and "not a folder" in r.output
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "summary.json").write_text(json.dumps(
        {"disclosure": {"min_cell": 10, "round_counts": 5}, "data": {"rows": 2000},
         "estimates": [{"n_treated": 1005, "net": 2.5, "diagnostics": {"cells": [{"n": 20}]}}]}))
    assert CliRunner().invoke(app, ["audit", str(tmp_path / "ok")]).exit_code == 0


def test_a_figure_without_counts_is_not_drawn(tmp_path, twin):
    study = prepare(ALMERE, twin)
    ests = run_estimator(study, "naive")
    from matplotlib.figure import Figure

    ests[0].figures = {"bare": lambda: Figure(),
                       "gated": GatedFigure([{"x": 1.0, "n": 4}, {"x": 2.0, "n": 50}],
                                            lambda recs: Figure(), what="test")}
    s, _ = writer.write_measure_report(writer.study_info(study), ests, tmp_path / "m")
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert "naive_naive_bare.png" not in files and "naive_naive_gated.png" in files
    man = json.loads((tmp_path / "m" / "naive_naive_gated.manifest.json").read_text())
    assert man["records"] == [{"x": 2.0, "n": 50}] and man["left_out"]
    assert any("bare" in x["where"] for x in s["disclosure"]["suppressed"])
    assert audit(tmp_path / "m") == []


def test_differencing_two_runs_with_and_without_a_three_person_region(tmp_path, twin):
    """Run A, and run B with 3 more persons in a region of their own (all treated, all found
    work): the published figures do not pin down '3 of 3 found work'."""
    import pandas as pd

    a = twin.copy()
    extra = a.iloc[:3].copy()
    extra["region"], extra["assigned"], extra["coached"], extra["found_work"] = "Tiny", 1, 1, 1
    b = pd.concat([a, extra], ignore_index=True)
    sa = _write(prepare(ALMERE, a), ["naive"], tmp_path / "a")
    sb = _write(prepare(ALMERE, b), ["naive"], tmp_path / "b")
    assert "Tiny" not in _all_text(tmp_path / "b")
    ea, eb = sa["estimates"][0], sb["estimates"][0]
    assert (eb["n_treated"] - ea["n_treated"]) % 5 == 0  # never the exact 3
    assert sb["data"]["rows"] % 5 == 0 and sa["data"]["rows"] % 5 == 0

    def feasible(n_pub, g_pub):  # (persons, successes) consistent with what was published
        return {(n, s) for n in range(n_pub - 2, n_pub + 3) for s in range(n + 1)
                if round(100 * s / n, 1) == g_pub}

    fa, fb = feasible(ea["n_treated"], ea["gross"]), feasible(eb["n_treated"], eb["gross"])
    diffs = {sb_ - sa_ for na, sa_ in fa for nb, sb_ in fb if nb - na == 3}
    assert len(diffs) > 1, diffs  # the 3 newcomers' outcomes are not pinned down
    assert audit(tmp_path / "a") == [] and audit(tmp_path / "b") == []


def test_a_small_category_is_hidden_from_the_balance_table_and_love_plot(tmp_path):
    from tests.conftest import SPECS

    spec = SPECS / "ontwikkeladvies_matching.yaml"
    df = simulate(spec, n=1500, seed=2).data
    df["education"] = df["education"].astype(str)
    df.loc[:2, "education"] = "phd"
    study = prepare(spec, df)
    s = _write(study, ["propensity_matching"], tmp_path / "m")
    text = _all_text(tmp_path / "m")
    assert "education_phd" not in text and "phd" not in text
    assert any("balance" in x["where"] or "love_plot" in x["where"]
               for x in s["disclosure"]["suppressed"])
    assert audit(tmp_path / "m") == []


def test_sparse_rd_bins_and_a_small_ddd_cell(tmp_path):
    from tests.conftest import SPECS

    rd = prepare(SPECS / "loonkostenvoordeel_rdd.yaml", n=1500, seed=4)
    _write(rd, ["rdd"], tmp_path / "rd")
    man = next((tmp_path / "rd").glob("rdd_*rd_plot.manifest.json"))
    recs = json.loads(man.read_text())["records"]
    assert recs and all(r["n"] >= 10 for r in recs)
    assert audit(tmp_path / "rd") == []

    ddd_spec = SPECS / "no_riskpolis_ddd.yaml"
    df = simulate(ddd_spec, n=3000, seed=5).data
    df = df[(df["age"] >= 50) & (df["age"] <= 61)].reset_index(drop=True)
    cell = (df["band_56_61"] == 1) & (df["long_term"] == 1) & (df["after_2018"] == 1)
    small = prepare(ddd_spec, df.drop(index=df.index[cell][4:]))  # a cell of 4 persons
    s = _write(small, ["triple_difference"], tmp_path / "ddd")
    e = s["estimates"][0]
    assert e["net"] is None and "fewer than 10" in e["reason"]
    assert "cells" not in json.dumps(e["diagnostics"])
    assert audit(tmp_path / "ddd") == []


def test_every_bundled_spec_passes_the_audit(bundled_reports):
    """`causal run data_specs/` (small twins) then `causal audit`: no violation."""
    _, out = bundled_reports
    assert (out / "index.html").exists()
    found = audit(out)
    assert found == [], "\n".join(map(str, found[:20]))
    r = CliRunner().invoke(app, ["audit", str(out)])
    assert r.exit_code == 0 and ".cache" in r.output


def test_an_event_time_reached_only_by_a_three_person_cohort(tmp_path):
    from tests.conftest import SPECS

    spec = SPECS / "ontwikkeladvies_staggered.yaml"
    df = simulate(spec, n=600, seed=1).data
    early = sorted(df["quarter"].unique())[2]
    who = df.loc[df["first_quarter"].notna(), "person_id"].drop_duplicates().iloc[:3]
    mine = df["person_id"].isin(who)
    df.loc[mine, "first_quarter"] = early  # 3 persons adopt years before everyone else
    df.loc[mine, "oa_completed"] = (df.loc[mine, "quarter"] >= early).astype(int)
    s = _write(prepare(spec, df), ["event_study"], tmp_path / "m")
    e = s["estimates"][0]
    shown = [r for r in e["diagnostics"].get("event_time", []) if "event_time" in r]
    assert shown and all(r["n_treated"] >= 10 for r in shown)
    assert any(x["reason"].startswith("rests on fewer") for x in s["disclosure"]["suppressed"])
    for man in (tmp_path / "m").glob("event_study_*.manifest.json"):
        assert all(r["n_treated"] >= 10 for r in json.loads(man.read_text())["records"])
    assert audit(tmp_path / "m") == []
