"""Cost per net outcome: the arithmetic, the interval, unbounded when the net's interval
spans zero, and the report and portfolio showing it."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from causal.costs import cost_per_outcome, discounted_total, portfolio_text
from causal.errors import SpecError
from causal.spec import Costs, load_spec

SPECS = Path(__file__).resolve().parents[1] / "data_specs"


def test_cost_per_outcome_and_its_interval():
    c = Costs(total=5_000_000, participants=1000, year=2017, citation="x")
    r = cost_per_outcome(5.0, 2.0, 8.0, 999, "pp", c)
    assert r["value"] == pytest.approx(5e6 / (0.05 * 1000))
    assert r["low"] == pytest.approx(5e6 / (0.08 * 1000))
    assert r["high"] == pytest.approx(5e6 / (0.02 * 1000))
    assert not r["unbounded"] and "EUR 100,000" in r["sentence"]
    per = Costs(per_participant=400, year=2017, citation="x")
    r = cost_per_outcome(2.0, 1.0, 3.0, 500, "pp", per)  # cost per participant / net share
    assert r["value"] == pytest.approx(400 / 0.02) and r["n_participants"] == 500


def test_unbounded_when_the_interval_spans_zero():
    c = Costs(total=5_000_000, participants=1000, year=2017, citation="x")
    r = cost_per_outcome(3.0, -1.0, 7.0, 1000, "pp", c)
    assert r["unbounded"] is True and r["value"] is None and r["low"] is None
    assert "unbounded" in r["sentence"] and "EUR" not in r["sentence"]
    assert portfolio_text(r) == "unbounded"
    nl = cost_per_outcome(3.0, -1.0, 7.0, 1000, "pp", c, lang="nl")
    assert "onbegrensd" in nl["sentence"]


def test_direction_and_the_wrong_side():
    down = Costs(total=1_000_000, participants=10_000, year=2018, citation="x", desirable="decrease")
    r = cost_per_outcome(-0.3, -0.6, -0.1, 1, "pp", down)
    assert r["value"] == pytest.approx(1e6 / (0.003 * 10_000))
    assert r["low"] < r["value"] < r["high"]
    wrong = cost_per_outcome(0.3, 0.1, 0.6, 1, "pp", down)
    assert wrong["value"] is None and not wrong["unbounded"] and portfolio_text(wrong) == "none"
    assert cost_per_outcome(None, None, None, 10, "pp", down) is None


def test_discounting_spreads_the_total():
    c = Costs(total=3_000_000, year=2017, citation="x", spread_years=3, discount_rate=0.04)
    assert discounted_total(c, 1) == pytest.approx(1e6 * (1 + 1 / 1.04 + 1 / 1.04**2))
    assert discounted_total(Costs(total=3e6, year=2017, citation="x", spread_years=3), 1) == 3e6


def test_costs_block_needs_one_amount(tmp_path):
    text = (SPECS / "actieplan50plus_its.yaml").read_text().replace(
        "  total: 54700000\n", "  total: 54700000\n  per_participant: 10\n")
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(SpecError, match="costs"):
        load_spec(p)


def test_report_and_portfolio_show_cost_per_outcome(tmp_path):
    from causal.batch import run_batch

    run_batch([SPECS / "actieplan50plus_its.yaml"], out=tmp_path, workers=1)
    md = (tmp_path / "actieplan50plus_its" / "report.md").read_text()
    assert "Cost per net outcome (one person fewer with the outcome)" in md
    assert "54.7M" in md  # the citation
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    cell = rows[0]["cost_per_outcome"]
    assert cell == "unbounded" or cell.startswith("EUR ")
    assert "Cost per net outcome" in (tmp_path / "index.html").read_text()
    # the series report and its figure pass the independent disclosure audit
    from causal.audit import audit

    assert (tmp_path / "actieplan50plus_its" / "interrupted_time_series_ATT_series.png").exists()
    assert audit(tmp_path / "actieplan50plus_its") == []
