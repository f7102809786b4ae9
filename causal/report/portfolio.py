"""The portfolio: every measure, the bruto its report published beside the netto effects.

``reports/index.html`` (one row per measure x estimator, links to each measure's page, the
forest plot, failures with their error) and ``reports/summary.csv`` with the same rows.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from causal.costs import portfolio_text
from causal.report import figures as figs
from causal.report.writer import _ENV, _fmt, atomic_write, write_gated_figure
from causal.spec import headline_reported

COLUMNS = ["measure", "title", "design", "estimator", "estimand", "reported_gross",
           "reported_comparable", "reported_citation", "gross_on_data", "gross", "net", "ci_low", "ci_high", "deadweight",
           "se_type", "n_clusters", "truth", "covers_truth", "n_treated", "n_control", "warnings", "reason"]
COLUMNS += ["cost_per_outcome"]  # cost / (net x n), or 'unbounded' (causal/costs.py)
COLUMNS += ["report"]  # the seed report the measure comes from (000-004), for grouping


def report_key(summary: dict[str, Any]) -> str:
    """The seed report a measure comes from: the first seed-note number (000-004) in its
    source's seed_notes, else 'other' (a user's own spec)."""
    m = re.search(r"\b(\d{3})\b", str((summary.get("source") or {}).get("seed_notes") or ""))
    return m.group(1) if m else "other"


def portfolio_rows(summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for measure in sorted(summaries, key=lambda m: (report_key(summaries[m]), m)):
        s = summaries[measure]
        rep = headline_reported(s["reported"])
        for e in s["estimates"]:
            rows.append({
                "measure": measure, "title": s["title"], "design": s["design"],
                "report": report_key(s),
                "estimator": e["name"], "name": e["name"], "estimand": e["estimand"],
                "reported_gross": None if rep is None else rep["value"],
                "reported_unit": None if rep is None else rep["unit"],
                "reported_label": None if rep is None else rep["label"],
                "reported_citation": None if rep is None else rep["citation"],
                "reported_comparable": bool(rep and rep.get("comparable")),
                "gross_on_data": s["gross_on_data"], "gross": e["gross"], "net": e["net"], "ci_low": e["ci_low"],
                "ci_high": e["ci_high"], "deadweight": e["deadweight"], "truth": e["truth"],
                "covers_truth": e["covers_truth"], "n_treated": e["n_treated"],
                "n_control": e["n_control"], "warnings": " | ".join(e["warnings"]),
                "reason": e["reason"] or s.get("identification") or "",
                "unit": e["unit"],
                "se_type": e.get("se_type", ""), "n_clusters": e.get("n_clusters"),
                "cost_per_outcome": portfolio_text((e.get("diagnostics") or {}).get(
                    "cost_per_outcome")),
            })
    return rows


def write_portfolio(batch, out: Path) -> None:
    rows = portfolio_rows(batch.summaries)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    atomic_write(out / "summary.csv", buf.getvalue())
    strictest = max((s.get("disclosure") or {} for s in batch.summaries.values()),
                    key=lambda d: d.get("min_cell", 0), default={})
    write_gated_figure({"disclosure": strictest}, "forest",
                       [{**r, "estimator": r["estimator"].split(" ")[0]} for r in rows],
                       figs.forest, out, "netto effect and interval per measure and estimator "
                       "(gated rows of each summary.json)")
    from causal.report.gate import Gate, Rules

    gate = Gate(Rules.of({k: v for k, v in strictest.items() if k != "suppressed"}))
    failed = [{"measure": r.task.measure, "estimator": r.task.estimator,  # counts in errors too
               "error": gate.text((r.error or "").splitlines()[0])} for r in batch.failed]
    failed += [{"measure": Path(p).stem, "estimator": "(spec)", "error": gate.text(e)}
               for p, e in batch.spec_errors]
    html = _ENV.get_template("portfolio.html.j2").render(
        rows=rows, failed=failed, fmt=_fmt, summaries=batch.summaries,
        seconds=batch.seconds_by_measure())
    atomic_write(out / "index.html", html)
