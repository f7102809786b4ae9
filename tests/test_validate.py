"""`causal validate`: the simulation study's measures, its checks (which must be able to fail),
determinism across workers, the CLI's exit codes, and a small-R run over every bundled spec."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from causal import estimators as registry
from causal.cli import app
from causal.spec import load_spec
from causal.validate import (
    COST,
    replication_seeds,
    run_validation,
    summarise,
)
from tests.conftest import ALMERE, SPECS

PLAN = [("naive", "naive", {}), ("est", "est", {})]


def _records(errors: np.ndarray, half_width: float, truth: float = 5.0, key: str = "est",
             se: float | None = None) -> list[dict]:
    return [{"replication": i, "seed": i, "estimator": key, "name": key, "estimand": "ATE",
             "net": truth + e, "ci_low": truth + e - half_width, "ci_high": truth + e + half_width,
             "se": se, "truth": truth, "reason": None, "seconds": 0.1}
            for i, e in enumerate(errors)]


def test_measures_by_hand():
    err = np.array([-1.0, 0.5, 2.0, -3.0, 1.5])
    tab = summarise(_records(err, 2.0), PLAN[1:], [], 5)
    r = tab.iloc[0]
    assert r["bias"] == pytest.approx(err.mean())
    assert r["rmse"] == pytest.approx(math.sqrt((err ** 2).mean()))
    assert r["coverage"] == pytest.approx(4 / 5)  # only e = -3 misses (bounds count)
    # intervals [5 + e -+ 2]: the one for e = -3 is [0, 4] and does not exclude zero
    assert r["power"] == pytest.approx(4 / 5) and r["mean_width"] == pytest.approx(4.0)
    assert r["mean_se"] == pytest.approx(2.0 / 1.959964)
    assert r["mean_truth"] == 5.0 and r["with_number"] == 5


def test_a_good_estimator_passes_and_a_bad_one_fails():
    rng = np.random.default_rng(1)
    good = rng.normal(0, 1, 200)
    ok = summarise(_records(good, 1.96, se=1.0), PLAN[1:], [], 200).iloc[0]
    assert not ok["failed"] and ok["status"].startswith("ok")
    # coverage 0.80 at R = 200 is a failure (intervals too narrow by 1.96 / 1.28)
    narrow = summarise(_records(good, 1.28, se=1.0), PLAN[1:], [], 200).iloc[0]
    assert narrow["failed"] and "coverage" in narrow["status"]
    # a bias of one standard error is a failure; so is an error in a replication
    biased = summarise(_records(good + 1.0, 1.96, se=1.0), PLAN[1:], [], 200).iloc[0]
    assert biased["failed"] and "bias" in biased["status"]
    errs = _records(good[:9], 1.96, se=1.0) + [{"replication": 9, "seed": 9, "estimator": "est",
                                                  "error": "EstimationError: boom"}]
    bad = summarise(errs, PLAN[1:], [], 10).iloc[0]
    assert bad["failed"] and bad["errors"] == 1 and "boom" in bad["first_error"]


def test_small_R_is_not_a_failure_but_a_gross_miss_is():
    one_miss = summarise(_records(np.array([0.1, -0.2, 3.0, 0.3, 0.0]), 1.96, se=1.0),
                         PLAN[1:], [], 5).iloc[0]
    assert one_miss["coverage"] == 0.8 and not one_miss["failed"]
    all_miss = summarise(_records(np.full(5, 10.0) + np.arange(5) * 0.1, 1.96, se=1.0),
                         PLAN[1:], [], 5).iloc[0]
    assert all_miss["failed"]


def test_naive_is_the_reference_and_never_fails():
    recs = _records(np.full(50, 8.0), 1.0, key="naive")
    r = summarise(recs, PLAN[:1], [], 50).iloc[0]
    assert r["reference"] and not r["failed"] and r["bias"] == pytest.approx(8.0)


def test_bias_max_in_pp_overrides_the_se_rule():
    rng = np.random.default_rng(2)
    e = rng.normal(0.3, 0.05, 400)  # bias 0.3, tiny Monte Carlo error, se 1
    assert not summarise(_records(e, 1.96, se=1.0), PLAN[1:], [], 400).iloc[0]["failed"]
    r = summarise(_records(e, 1.96, se=1.0), PLAN[1:], [], 400, bias_max=0.1).iloc[0]
    assert r["failed"] and r["bias_tolerance"] == 0.1


def test_seeds_are_deterministic_and_distinct():
    spec = load_spec(ALMERE)
    a, b = replication_seeds(spec, 50), replication_seeds(spec, 50)
    assert a == b and len(set(a)) == 50
    assert replication_seeds(spec, 10) == a[:10]


def test_slow_estimators_are_skipped_visibly(monkeypatch):
    monkeypatch.setitem(COST, "rct_difference", "slow")
    tab = run_validation(ALMERE, 2, n=200, max_cost="medium")
    row = tab[tab["estimator"] == "rct_difference"].iloc[0]
    assert row["status"].startswith("skipped: cost class 'slow'") and not row["failed"]
    assert (tab["estimator"] == "naive").any()


def test_a_broken_estimator_fails_validation(monkeypatch):
    """The check must be able to fail: shift the RCT estimate by 20 points."""
    info = registry.get("rct_difference")

    def broken(study, options):
        out = info.fit(study, options)
        for e in out:
            e.net += 20
            e.ci_low += 20
            e.ci_high += 20
        return out

    monkeypatch.setitem(registry._REGISTRY, "rct_difference", dataclasses.replace(info, fit=broken))
    tab = run_validation(ALMERE, 5, n=400, estimators=["rct_difference"])
    itt = tab[tab["estimand"] == "ITT"].iloc[0]
    assert itt["failed"] and "coverage" in itt["status"] and "bias" in itt["status"]


def test_parallel_gives_the_same_table_as_serial():
    drop = ["seconds"]
    a = run_validation(ALMERE, 3, n=300, workers=1).drop(columns=drop)
    b = run_validation(ALMERE, 3, n=300, workers=2).drop(columns=drop)
    pd.testing.assert_frame_equal(a, b)


def test_cli_exit_codes_and_out(tmp_path, monkeypatch):
    import causal.validate as v

    real = v.run_validation
    runner = CliRunner()
    out = tmp_path / "v.json"
    r = runner.invoke(app, ["validate", str(ALMERE), "-R", "2", "--n", "200", "-w", "1",
                            "-q", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["settings"]["replications"] == 2 and len(doc["records"]) >= 4
    assert {"bias", "rmse", "coverage", "power", "mean_width"} <= set(doc["table"][0])
    csv = tmp_path / "v.csv"
    r = runner.invoke(app, ["validate", str(ALMERE), "-R", "2", "--n", "200", "-w", "1", "-q",
                            "--out", str(csv)])
    assert r.exit_code == 0 and pd.read_csv(csv)["estimator"].tolist()[0] == "naive"

    def failing(*a, **kw):
        tab = real(*a, **kw)
        tab.loc[tab["estimator"] == "rct_difference", ["failed", "status"]] = [True, "FAIL: x"]
        return tab

    monkeypatch.setattr(v, "run_validation", failing)
    r = runner.invoke(app, ["validate", str(ALMERE), "-R", "2", "--n", "200", "-w", "1", "-q"])
    assert r.exit_code == 1 and "failed:" in r.output
    monkeypatch.setattr(v, "run_validation", real)
    for args, msg in [(["-R", "2", "-e", "nonsense"], "not in the spec"),
                      (["-R", "0"], "at least 1"),
                      (["-R", "2", "--out", str(tmp_path / "v.txt")], ".json or .csv"),
                      (["-R", "2", "--n", "5"], "at least 20"),
                      (["-R", "2", "--max-cost", "cheap"], "fast, medium")]:
        r = runner.invoke(app, ["validate", str(ALMERE), "-w", "1", "-q", *args])
        assert r.exit_code == 2, (args, r.output)
        assert msg in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("spec", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_validate_runs_on_every_spec(spec):
    """Our own CI: a small-R run on every bundled spec completes with finite numbers for
    every estimator that gives one (no coverage claim at this R). Estimators of cost class
    'slow' are skipped, and the table says so."""
    s = load_spec(spec)
    if s.simulation is None:
        pytest.skip(f"{spec.name} has no synthetic twin")
    n = min(s.simulation.n, 300)
    tab = run_validation(s, 3, n=n, max_cost="medium")
    assert len(tab) >= 2
    for r in tab.to_dict(orient="records"):
        if str(r["status"]).startswith("skipped"):
            assert r["cost"] == "slow"
            continue
        assert r["errors"] == 0, (r["name"], r["first_error"])
        if r["with_number"]:
            assert np.isfinite(r["mean_estimate"]), r
            if np.isfinite(r["mean_truth"]):
                assert np.isfinite(r["bias"]) and np.isfinite(r["rmse"]), r
            if not np.isnan(r["coverage"]):
                assert 0 <= r["coverage"] <= 1 and np.isfinite(r["mean_width"]), r


def test_validation_simulates_the_twin_even_when_the_spec_names_a_data_file(spec_copy):
    p = spec_copy()
    p.write_text(p.read_text() + "\ndata:\n  path: ../extract_that_is_not_here.csv\n")
    tab = run_validation(p, 2, n=200)
    assert (tab["errors"] == 0).all() and (tab["with_number"] == 2).all()
