"""Regression tests for the findings of issue 15 (real research data in): each finding a
user hit is reproduced here and must now be read right or refused by name (exit 2)."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from causal.batch import run_batch
from causal.cli import app
from causal.errors import DataError, SpecError
from causal.pipeline import prepare
from causal.spec import load_spec
from tests.test_bad_data import good

RUN = ["--workers", "1", "--quiet", "-e", "naive"]


@pytest.fixture
def spec(spec_copy):
    p = spec_copy()
    p.write_text(p.read_text() + "\ndata:\n  columns: {assigned: bsn_even, age: leeftijd}\n")
    return p


def _run(spec, data, out, *extra):
    return CliRunner().invoke(app, ["run", str(spec), "--data", str(data), "--out", str(out),
                                    *RUN, *extra])


def test_run_exits_2_on_a_data_error_naming_file_and_column(spec, tmp_path):
    df = good()
    df.loc[:4, "bsn_even"] = np.nan
    f = tmp_path / "x.csv"
    df.to_csv(f, index=False)
    r = _run(spec, f, tmp_path / "r")
    assert r.exit_code == 2, r.output
    assert str(f) in r.output and "bsn_even" in r.output
    assert "bug in netto" not in r.output


def test_read_only_output_folder_exits_2_naming_it(spec, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    f = tmp_path / "x.csv"
    good().to_csv(f, index=False)
    out = tmp_path / "r"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        r = _run(spec, f, out)
    finally:
        out.chmod(stat.S_IRWXU)
    assert r.exit_code == 2, r.output
    assert str(out) in r.output and "bug in netto" not in r.output


def test_an_os_error_while_writing_is_exit_2_and_leaves_no_temp_files(spec, tmp_path,
                                                                     monkeypatch):
    import errno

    import causal.report.writer as writer

    f = tmp_path / "x.csv"
    good().to_csv(f, index=False)
    out = tmp_path / "r"

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "m" / "report.md"))

    monkeypatch.setattr(writer, "atomic_write", full)
    r = _run(spec, f, out)
    assert r.exit_code == 2, r.output
    assert "disk is full" in r.output and "report.md" in r.output
    left = [p for p in out.rglob("*") if ".tmp" in p.name]
    assert left == []


def test_duplicate_measure_ids_are_an_error_naming_both_files(spec, tmp_path):
    other = spec.with_name("copy.yaml")
    other.write_text(spec.read_text())
    f = tmp_path / "x.csv"
    good().to_csv(f, index=False)
    r = CliRunner().invoke(app, ["run", str(spec.parent), "--data", str(f), "--out",
                                 str(tmp_path / "r"), *RUN])
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "copy.yaml" in text and spec.name in text and "also used by" in text
    r = CliRunner().invoke(app, ["check", str(spec.parent)])
    assert r.exit_code == 2 and "also used by" in " ".join(r.output.split())


@pytest.mark.parametrize("graph,expected", [
    ("digraph { assigned -> work_12m; work_12m -> assigned; }", "cycle"),
    ("digraph { assigned -> ", "could not be read"),
    ("digraph { a -> b; }", "no node for the treatment"),
])
def test_bad_graphs_fail_check(spec, graph, expected):
    g = spec.parent.parent / "models" / "almere_aanpak45plus.dot"
    g.write_text(graph)
    r = CliRunner().invoke(app, ["check", str(spec)])
    assert r.exit_code == 2 and expected in " ".join(r.output.split()), r.output
    assert str(g) in " ".join(r.output.split()).replace(" ", "") or g.name in r.output


def test_a_ten_row_file_is_a_clear_error(spec, tmp_path):
    f = tmp_path / "ten.csv"
    good(10, seed=1).to_csv(f, index=False)
    with pytest.raises(DataError, match="only 10 rows: too few for the .* adjustment column"):
        prepare(load_spec(spec), f)
    good(14, seed=1).to_csv(f, index=False)  # feasible to load, singular to fit
    r = _run(spec, f, tmp_path / "r", "-e", "rct_difference")
    assert r.exit_code in (0, 1), r.output  # an estimate, or a failed estimator: never 3
    assert "bug in netto" not in r.output and "internal error" not in r.output


def test_duplicate_person_ids_are_flagged_without_id_column(spec, tmp_path):
    df = good()
    df = pd.concat([df, df.iloc[:3]], ignore_index=True)
    f = tmp_path / "x.csv"
    df.to_csv(f, index=False)
    st = prepare(load_spec(spec), f)
    assert any("'client' looks like a person id" in n and "3 id(s)" in n for n in st.notes)


def test_spss_labels_and_user_missing_codes(spec, tmp_path):
    """Finding: an SPSS numeric confounder where only the missing code is labelled (999 =
    'onbekend') was read as text categories; labelled education codes were one number."""
    df = good()
    edu = {"vmbo": 1, "mbo": 2, "hbo": 3}
    df["education"] = df["education"].map(edu).astype(float)
    df["benefit_months"] = df["benefit_months"].astype(float)
    df.loc[:4, "benefit_months"] = 999.0
    df.loc[5:6, "benefit_months"] = 998.0
    f = tmp_path / "x.sav"
    pyreadstat.write_sav(df, str(f),
                         variable_value_labels={"education": {v: k for k, v in edu.items()},
                                                "benefit_months": {999: "onbekend"}},
                         missing_ranges={"benefit_months": [998]})
    s = load_spec(spec)
    with pytest.raises(DataError, match=r"'benefit_months'.*7 of 400 rows have no value"):
        prepare(s, f)
    text = spec.read_text() + "  missing_confounders: drop\n"
    spec.write_text(text)
    st = prepare(load_spec(spec), f)
    assert len(st.data) == 393
    assert any("rows with a missing confounder value were dropped" in n for n in st.notes)
    assert list(st.data["education"].cat.categories) == ["vmbo", "mbo", "hbo"]
    info = {i.column: i for i in st.columns}
    assert info["education"].type == "categorical"
    assert info["benefit_months"].type == "numeric" and "onbekend" in info["benefit_months"].how


def test_spec_missing_codes_and_declared_types(spec, tmp_path):
    df = good()
    df["education"] = df["education"].map({"vmbo": 1, "mbo": 2, "hbo": 3})
    df.loc[:2, "benefit_months"] = 99
    f = tmp_path / "x.csv"
    df.to_csv(f, index=False)
    spec.write_text(spec.read_text() + "  types: {education: categorical}\n  missing: [99]\n"
                    "  missing_confounders: drop\n")
    st = prepare(load_spec(spec), f)
    assert len(st.data) == 397
    assert isinstance(st.data["education"].dtype, pd.CategoricalDtype)
    assert any(c.startswith("education[T.") for c in st.design_matrix().columns)


def test_declared_numeric_with_text_is_an_error_with_a_sample(spec, tmp_path):
    df = good()
    df["health_limitation"] = df["health_limitation"].astype(object)
    df.loc[3, "health_limitation"] = "ja"
    f = tmp_path / "x.csv"
    df.to_csv(f, index=False)
    spec.write_text(spec.read_text() + "  types: {health_limitation: numeric}\n")
    with pytest.raises(DataError, match=r"'health_limitation'.*1 of 400 values are not "
                                        r"numbers \(first: 'ja'\)"):
        prepare(load_spec(spec), f)


def test_xlsx_input(spec, tmp_path):
    df = good()
    f = tmp_path / "x.xlsx"
    df.to_excel(f, index=False)
    st = prepare(load_spec(spec), f)
    assert np.allclose(st.data["benefit_months"], df["benefit_months"])
    assert st.dialect.startswith("Excel workbook")


def test_context_confounders_are_optional(spec_copy, tmp_path):
    """Finding: the naive estimator warned about conjunctuur and AOW on data with neither."""
    p = spec_copy()
    text = p.read_text()
    import yaml

    d = yaml.safe_load(text)
    d["confounders"] = [c for c in d["confounders"] if c not in ("months_to_aow", "conjunctuur")]
    d["graph"] = None
    d["data"] = {"columns": {"assigned": "bsn_even", "age": "leeftijd"}}
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    df = good().drop(columns=["birth_date", "inflow_date"]).assign(region="Flevoland")
    f = tmp_path / "x.csv"
    df.to_csv(f, index=False)
    from causal.pipeline import run_estimator

    st = prepare(load_spec(p), f)
    e = run_estimator(st, "naive", {})[0]
    assert not any("AOW" in w or "conjunctuur" in w for w in e.warnings)
    from causal.sensitivity import design_warnings

    msgs = [w["message"] for w in design_warnings(st)]
    assert any("one region" in m for m in msgs)  # the warning is there, without the cycle
    assert not any("AOW" in m or "conjunctuur" in m for m in msgs)


def test_run_batch_twice_on_a_rewritten_file_uses_the_new_data(spec, tmp_path):
    f = tmp_path / "x.csv"
    good(400, seed=0).to_csv(f, index=False)
    b1 = run_batch([spec], out=tmp_path / "r", data=str(f), workers=1, estimators=["naive"])
    good(400, seed=5).to_csv(f, index=False)
    b2 = run_batch([spec], out=tmp_path / "r2", data=str(f), workers=1, estimators=["naive"])
    g1 = b1.summaries["almere_aanpak45plus"]["data"]["fingerprint"]
    g2 = b2.summaries["almere_aanpak45plus"]["data"]["fingerprint"]
    assert g1 != g2


def test_figures_of_a_removed_estimator_are_removed(spec, tmp_path):
    f = tmp_path / "x.csv"
    good().to_csv(f, index=False)
    out = tmp_path / "r"
    run_batch([spec], out=out, data=str(f), workers=1)
    mdir = out / "almere_aanpak45plus"
    stale = mdir / "rct_difference_ITT_balance.png"
    stale.write_bytes(b"old figure")  # as left by an earlier run with that estimator
    run_batch([spec], out=out, data=str(f), workers=1, estimators=["naive"])
    assert not stale.exists()
    assert (mdir / "summary.json").exists()


def test_no_wall_clock_in_summary_json(tmp_path):
    from causal.report.writer import write_measure_report
    from causal.result import Estimate

    st = prepare(load_spec(__import__("tests.conftest").conftest.ALMERE))
    from causal.report.writer import study_info

    info = study_info(st)
    e = st.estimate("naive", "naive", 1.0, (0.0, 2.0), 0.5)
    e.diagnostics["seconds"] = {"total": 12.3}
    summary, _ = write_measure_report(info, [e], tmp_path / "m")
    text = (tmp_path / "m" / "summary.json").read_text()
    assert "12.3" not in text and "seconds" not in text
    assert json.loads((tmp_path / "m" / "timings.json").read_text())
    assert isinstance(e, Estimate)


def test_a_bare_year_is_not_a_date(spec, tmp_path):
    df = good()
    df["birth_date"] = df["birth_date"].str[:4]
    f = tmp_path / "x.csv"
    df.to_csv(f, index=False)
    with pytest.raises(DataError, match="bare year"):
        prepare(load_spec(spec), f)


def test_spec_errors_are_spec_errors(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("measure: x\n")
    with pytest.raises(SpecError):
        load_spec(p)


def test_all_spec_errors_at_once_in_plain_words(tmp_path):
    """Finding: errors came one per run and named Python classes ('instance of Source')."""
    p = tmp_path / "s.yaml"
    p.write_text("measure: Bad-Id\ntitle: x\ntitel: y\nsource: a report\n"
                 "treatment: {column: t, assignment: randomised}\n"
                 "outcome: {column: y, kind: binary, horizon_months: zero}\n"
                 "estimators: [{name: naive}]\ndata: {types: {edu: categorial}}\n")
    with pytest.raises(SpecError) as e:
        load_spec(p)
    msg = str(e.value)
    assert "6 problems" in msg and "instance of" not in msg
    for want in ("'measure'", "'titel'", "did you mean 'title'", "fields: report, section",
                 "did you mean 'randomized'", "a whole number", "did you mean 'categorical'"):
        assert want in msg, want
