"""The portfolio: every measure, the bruto its report published beside the netto effects.

``reports/index.html`` (one row per measure x estimator, links to each measure's page, the
forest plot of one preferred estimate per measure, failures with their error) and
``reports/summary.csv`` with the same rows (text cells guarded against formula injection).
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from causal.costs import portfolio_text
from causal.report import figures as figs
from causal.report.textsafe import cell
from causal.report.writer import _ENV, atomic_write, page_context, write_gated_figure
from causal.spec import headline_reported, not_comparable_reason

COLUMNS = ["measure", "title", "design", "estimator", "estimand", "reported_gross",
           "reported_comparable", "reported_citation", "gross_on_data", "gross", "net", "ci_low", "ci_high", "deadweight",
           "se_type", "n_clusters", "truth", "covers_truth", "n_treated", "n_control", "warnings", "reason",
           "preferred", "population", "counterfactual", "deadweight_low", "deadweight_high",
           "deadweight_status", "reported_context_reason", "sentence_en", "sentence_nl"]
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
            sentences = e.get("sentences") or {}
            rows.append({
                "measure": measure, "title": s["title"], "design": s["design"],
                "report": report_key(s),
                "estimator": e["name"], "name": e["name"], "estimand": e["estimand"],
                "reported_gross": None if rep is None else rep["value"],
                "reported_unit": None if rep is None else rep["unit"],
                "reported_label": None if rep is None else rep["label"],
                "reported_citation": None if rep is None else rep["citation"],
                "reported_comparable": bool(rep and rep.get("comparable")),
                "reported_context_reason": None if rep is None else not_comparable_reason(rep),
                "reported_own_reason": None if rep is None else rep.get("context_reason"),
                "reported_role": None if rep is None else rep.get("role", "outcome"),
                "gross_on_data": s["gross_on_data"], "gross": e["gross"], "net": e["net"], "ci_low": e["ci_low"],
                "ci_high": e["ci_high"], "deadweight": e["deadweight"], "truth": e["truth"],
                "covers_truth": e["covers_truth"], "n_treated": e["n_treated"],
                "n_control": e["n_control"], "warnings": " | ".join(e["warnings"]),
                "reason": e["reason"] or s.get("identification") or "",
                "reason_nl": s.get("identification_nl") if (e["reason"] or s.get(
                    "identification")) == s.get("identification") else None,
                "unit": e["unit"], "preferred": bool(e.get("preferred")),
                "population": e.get("population"), "counterfactual": e.get("counterfactual"),
                "deadweight_low": e.get("deadweight_low"),
                "deadweight_high": e.get("deadweight_high"),
                "deadweight_status": e.get("deadweight_status"),
                "sentences": sentences, "sentence_en": sentences.get("en", e.get("sentence")),
                "sentence_nl": sentences.get("nl"),
                "naive": e.get("estimator", e["name"].split(" ")[0]) == "naive",
                "se_type": e.get("se_type", ""), "n_clusters": e.get("n_clusters"),
                "cost": (e.get("diagnostics") or {}).get("cost_per_outcome"),
                "cost_per_outcome": portfolio_text((e.get("diagnostics") or {}).get(
                    "cost_per_outcome")),
            })
    return rows


def write_summary_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """summary.csv: one row per measure x estimator; no text cell can start a formula."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: cell(v) for k, v in r.items()})
    atomic_write(path, buf.getvalue())


def batch_lang(batch, lang: str | None = None) -> str:
    """The language of a batch's portfolio and console table: ``lang`` (--lang), else
    NETTO_LANG, else the specs' ``lang`` where they all agree, else English."""
    from causal.messages import resolve_lang

    langs = {s.get("lang") for s in batch.summaries.values()} - {None}
    return resolve_lang(lang, langs.pop() if len(langs) == 1 else None)


def write_portfolio(batch, out: Path, lang: str | None = None) -> None:
    lang = batch_lang(batch, lang)
    rows = portfolio_rows(batch.summaries)
    write_summary_csv(rows, out / "summary.csv")
    from causal.report.exports import summary_xlsx
    from causal.report.localise import localise

    shown = {m: localise(s, lang) for m, s in batch.summaries.items()}  # in the page's language
    shown_rows = portfolio_rows(shown)
    atomic_write(out / "summary.xlsx", summary_xlsx(shown, lang, shown_rows))
    strictest = max((s.get("disclosure") or {} for s in batch.summaries.values()),
                    key=lambda d: d.get("min_cell", 0), default={})
    write_gated_figure({"disclosure": strictest}, "forest", shown_rows,
                       lambda recs: figs.forest(recs, lang=lang), out,
                       "netto effect and interval, the preferred estimate per measure and its "
                       "naive comparison (gated rows of each summary.json)")
    from causal.report.gate import Gate, Rules

    gate = Gate(Rules.of({k: v for k, v in strictest.items() if k != "suppressed"}))
    failed = [{"measure": r.task.measure, "estimator": r.task.estimator,  # counts in errors too
               "error": gate.text((r.error or "").splitlines()[0])} for r in batch.failed]
    failed += [{"measure": Path(p).stem, "estimator": "(spec)", "error": gate.text(e)}
               for p, e in batch.spec_errors]
    not_plotted = [{"measure": m, "title": s["title"],
                    "reason_nl": s.get("identification_nl"),
                    "reason": s.get("identification") or next(
                        (e["reason"] for e in s["estimates"] if e.get("reason")), "")}
                   for m, s in sorted(shown.items()) if not s.get("preferred")]
    html = _ENV.get_template("portfolio.html.j2").render(
        rows=shown_rows, failed=failed, summaries=shown, not_plotted=not_plotted,
        min_cell=min((s["disclosure"]["min_cell"] for s in batch.summaries.values()), default=10),
        seconds=batch.seconds_by_measure(), **{k: v for k, v in page_context(None, lang).items()
                                               if k != "s"})
    atomic_write(out / "index.html", html)
