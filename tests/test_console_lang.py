"""The console's bruto/netto table of `causal run` speaks the reports' language."""
from __future__ import annotations

import io
import re

from rich.console import Console

from causal.cli_print import print_table
from causal.messages import catalogue, t


def _table(batch, lang: str) -> str:
    buf = io.StringIO()
    print_table(batch, Console(file=buf, width=400, color_system=None), lang)
    return buf.getvalue()


def test_console_table_in_dutch(bundled_reports):
    batch, _ = bundled_reports
    nl, en = _table(batch, "nl"), _table(batch, "en")
    for key in ("title", "measure", "estimator", "se"):
        assert t(f"console.{key}", "nl") in nl and t(f"console.{key}", "en") in en
        assert t(f"console.{key}", "en") not in nl
    # every estimate label the batch wrote is shown in Dutch where the catalogue has it
    labels = {e["label"] for s in batch.summaries.values() for e in s["estimates"]
              if e.get("label")}
    dutch = catalogue()["nl"]["estimate_labels"]
    assert labels & set(dutch), "the bundled specs no longer write a translated label"
    for lab in labels & set(dutch):
        assert f"({dutch[lab]})" in nl and f"({lab})" not in nl
    # numbers with a decimal comma: no "12.34" in a Dutch table outside names
    cells = [c for line in nl.splitlines() for c in line.split("│")[3:7]]
    assert not any(re.search(r"\d\.\d", c) for c in cells)
    assert any(re.search(r"\d,\d", c) for c in cells)


def test_dutch_figures_name_the_estimates_in_dutch(bundled_reports, tmp_path):
    """The decomposition figure of a Dutch page and the portfolio's forest plot label the
    estimates as the Dutch pages do ("did (verschil in verschillen)"): their gated records
    (the manifests) carry the Dutch names, the English summary keeps the English."""
    import copy
    import json

    from causal.report.portfolio import write_portfolio
    from causal.report.writer import render_measure_pages

    batch, _ = bundled_reports
    dutch = catalogue()["nl"]["estimate_labels"]
    m, s = next((m, s) for m, s in batch.summaries.items()
                if any(e.get("label") in dutch for e in s["estimates"]))
    en_names = [e["name"] for e in s["estimates"]]
    (tmp_path / m).mkdir()
    render_measure_pages(copy.deepcopy(s), tmp_path / m, "nl")
    shown = json.loads((tmp_path / m / "decomposition.manifest.json").read_text())
    names = {r["name"] for r in shown["records"]}
    want = {f"{e['estimator']} ({dutch[e['label']]})" for e in s["estimates"]
            if e.get("label") in dutch}
    assert want <= names and not names & {n for n in en_names if "(" in n and n not in want}
    assert [e["name"] for e in s["estimates"]] == en_names  # the summary itself untouched
    write_portfolio(batch, tmp_path, "nl")
    forest = (tmp_path / "forest.manifest.json").read_text()
    assert not any(f"({lab})" in forest for lab in dutch)
