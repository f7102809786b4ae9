"""Batch estimation: local processes and a Dask cluster give the same results; an interrupted
or repeated batch resumes from its cache; one failing measure does not stop the rest."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from causal.batch import run_batch
from causal.cli import app
from tests.conftest import ROOT, SPECS


def _two_specs(folder):
    """The Almere spec and a copy of it (another measure name and seed) in ``folder``."""
    (folder / "data_specs").mkdir(parents=True)
    shutil.copytree(ROOT / "models", folder / "models")
    text = (SPECS / "almere_aanpak45plus.yaml").read_text()
    (folder / "data_specs" / "almere_aanpak45plus.yaml").write_text(text)
    (folder / "data_specs" / "almere_copy.yaml").write_text(
        text.replace("measure: almere_aanpak45plus", "measure: almere_copy")
        .replace("seed: 45", "seed: 46"))
    return folder / "data_specs"


@pytest.fixture
def two_specs(tmp_path):
    """The two specs, for a test that edits them or adds to their folder."""
    return _two_specs(tmp_path)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The two specs (left unedited) run once in this process at n = 600: the reference the
    process-pool and Dask runs are compared with, and the portfolio test's batch."""
    specs = _two_specs(tmp_path_factory.mktemp("two"))
    out = specs.parent / "local"
    batch = run_batch([specs], out=out, workers=1, n=600)
    return specs, batch, out


def _summaries(out):
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/summary.json"))}


def test_dask_cluster_equals_local_run(tmp_path, local_run):
    from distributed import Client, LocalCluster

    two_specs, local, local_out = local_run
    assert local.ok
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dask = run_batch([two_specs], out=tmp_path / "dask", scheduler=client, n=600)
    assert dask.ok
    a, b = _summaries(local_out), _summaries(tmp_path / "dask")
    assert set(a) == {"almere_aanpak45plus", "almere_copy"}
    assert a == b


def test_process_pool_equals_in_process(tmp_path, local_run):
    two_specs, one, one_out = local_run
    two = run_batch([two_specs], out=tmp_path / "two", workers=2, n=600)
    assert one.ok and two.ok
    assert _summaries(one_out) == _summaries(tmp_path / "two")


def test_rerun_resumes_and_force_recomputes(tmp_path, two_specs):
    out = tmp_path / "r"
    first = run_batch([two_specs], out=out, workers=1, n=600)
    assert first.results and not any(r.cached for r in first.results)
    again = run_batch([two_specs], out=out, workers=1, n=600)
    assert all(r.cached for r in again.results)
    assert _summaries(out)["almere_copy"] == first.summaries["almere_copy"]
    # an interrupted batch: lose one cache entry; only that task is recomputed
    victim = again.results[0].task.key
    shutil.rmtree(out / ".cache" / victim)
    third = run_batch([two_specs], out=out, workers=1, n=600)
    assert [r.task.key for r in third.results if not r.cached] == [victim]
    # a changed spec invalidates only its own tasks
    spec = two_specs / "almere_copy.yaml"
    spec.write_text(spec.read_text().replace("seed: 46", "seed: 47"))
    fourth = run_batch([two_specs], out=out, workers=1, n=600)
    changed = {r.task.measure for r in fourth.results if not r.cached}
    assert changed == {"almere_copy"}
    forced = run_batch([two_specs], out=out, workers=1, n=600, force=True)
    assert not any(r.cached for r in forced.results)


def test_one_failing_measure_does_not_stop_the_batch(tmp_path, two_specs):
    bad = two_specs / "broken_data.yaml"
    bad.write_text((two_specs / "almere_copy.yaml").read_text()
                   .replace("measure: almere_copy", "measure: broken_data")
                   + "\ndata:\n  path: no_such_file.csv\n")
    typo = two_specs / "typo.yaml"
    typo.write_text("measure: typo\ntitle: x\n")
    out = tmp_path / "r"
    r = CliRunner().invoke(app, ["run", str(two_specs), "--out", str(out), "-w", "1",
                                 "--n", "600"])
    assert r.exit_code == 2  # a spec and a data problem: both the user's to fix
    shown = r.stdout + r.stderr
    assert "no_such_file.csv" in shown and "typo.yaml" in shown
    assert set(_summaries(out)) == {"almere_aanpak45plus", "almere_copy"}
    html = (out / "index.html").read_text()
    assert "Failed" in html and "broken_data" in html and "typo" in html
    assert "Traceback" not in shown


def test_an_internal_error_is_one_line_unless_debugging(tmp_path, two_specs, monkeypatch):
    import causal.pipeline

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(causal.pipeline, "run_estimator", broken)
    monkeypatch.delenv("NETTO_DEBUG", raising=False)
    quiet = run_batch([two_specs / "almere_copy.yaml"], out=tmp_path / "a", workers=1, n=300,
                      force=True)
    err = quiet.failed[0].error
    assert err.startswith("RuntimeError: boom") and "NETTO_DEBUG=1" in err
    assert "Traceback" not in err
    monkeypatch.setenv("NETTO_DEBUG", "1")
    loud = run_batch([two_specs / "almere_copy.yaml"], out=tmp_path / "b", workers=1, n=300,
                     force=True)
    assert "Traceback" in loud.failed[0].error


def test_portfolio_rows_and_csv(local_run):
    _, batch, out = local_run
    csv = (out / "summary.csv").read_text().splitlines()
    n_est = sum(len(s["estimates"]) for s in batch.summaries.values())
    assert len(csv) == 1 + n_est
    assert csv[0].startswith("measure,title,design,estimator")
    assert (out / "forest.png").stat().st_size > 1000
    assert "almere_copy/index.html" in (out / "index.html").read_text()

def test_portfolio_groups_measures_by_seed_report():
    from causal.report.portfolio import portfolio_rows, report_key

    est = {"name": "naive", "estimand": "naive", "gross": 1.0, "net": 0.5, "ci_low": 0.0,
           "ci_high": 1.0, "deadweight": 0.5, "truth": None, "covers_truth": None,
           "n_treated": 20, "n_control": 20, "warnings": [], "reason": None, "unit": "pp"}
    summaries = {m: {"title": m, "design": "observational", "reported": [], "estimates": [est],
                     "gross_on_data": 1.0, "source": {"seed_notes": notes}}
                 for m, notes in (("a_measure", "004 §8 item 2"), ("b_measure", "000 §3, EP1"),
                                  ("c_measure", None))}
    assert report_key(summaries["a_measure"]) == "004"
    assert report_key(summaries["c_measure"]) == "other"
    order = [(r["report"], r["measure"]) for r in portfolio_rows(summaries)]
    assert order == [("000", "b_measure"), ("004", "a_measure"), ("other", "c_measure")]


def test_bundled_specs_all_plan(bundled_reports):
    """Every bundled spec plans without a spec error, one measure per file: read off the
    session's batch of data_specs/ (run_batch plans exactly so; its n only sizes the twins)."""
    batch, _ = bundled_reports
    assert not batch.spec_errors, batch.spec_errors
    assert len({r.task.measure for r in batch.results}) == \
        len(list((ROOT / "data_specs").glob("*.yaml")))
