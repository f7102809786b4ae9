"""Dutch reports carry no English from the message catalogue (issue 16, item 5).

Renders, in Dutch, a measure with a deadweight check and costs (ontwikkeladvies, trimmed to
naive and IPW) and a measure that is not identified (inspectie 45+, with what would settle
it), and looks for every English catalogue phrase in the pages, the Word file and the
workbook.
"""
from __future__ import annotations

import re
import shutil

import pytest

from causal.messages import catalogue
from tests.conftest import ROOT, SPECS


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    else:
        yield path, str(node)


def english_phrases(min_words: int = 3) -> set[str]:
    """Literal stretches of the English catalogue (between placeholders, at least
    ``min_words`` words, so that spec prose such as 'not identified' or 'randomised trial'
    does not count) that the Dutch catalogue does not share: any of them on a Dutch page is
    untranslated text."""
    nl = " ".join(v for _, v in _leaves(catalogue()["nl"]))
    out = set()
    for path, text in _leaves(catalogue()["en"]):
        if path[0] in ("share_who", "mean_of"):  # fragments English spec prose uses too
            continue
        for part in re.split(r"\{[^}]*\}", text):
            part = part.strip(" ,.;:()")
            if len(part.split()) >= min_words and len(part) >= 12 and part not in nl:
                out.add(part)
    return out


@pytest.fixture(scope="module")
def dutch_reports(tmp_path_factory):
    from causal.batch import run_batch

    tmp = tmp_path_factory.mktemp("lang")
    (tmp / "data_specs").mkdir()
    shutil.copytree(ROOT / "models", tmp / "models")
    text = (SPECS / "ontwikkeladvies_matching.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^estimators:\n.*?^preferred: .*?$",
                  "estimators:\n  - name: naive\n  - name: ipw\n    options: {estimands: [ATT]}"
                  "\npreferred: \"ipw (ATT)\"", text, count=1)
    (tmp / "data_specs" / "ontwikkeladvies_matching.yaml").write_text(text, encoding="utf-8")
    shutil.copy(SPECS / "inspectie_bijstand45plus.yaml", tmp / "data_specs")
    mp = pytest.MonkeyPatch()
    mp.setenv("NETTO_REFUTE", "0")
    try:
        out = tmp / "reports"
        batch = run_batch(sorted((tmp / "data_specs").glob("*.yaml")), out=out, workers=1,
                          n=2000, lang="nl")
    finally:
        mp.undo()
    assert not batch.failed and not batch.spec_errors
    return batch, out


def _texts(out):
    import docx
    from openpyxl import load_workbook

    for p in sorted(out.rglob("*")):
        if ".cache" in p.parts:
            continue
        if p.suffix in (".html", ".md"):
            yield p, p.read_text(encoding="utf-8").replace("\\", "")
        elif p.suffix == ".docx":
            d = docx.Document(str(p))
            cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
            yield p, "\n".join([x.text for x in d.paragraphs] + cells)
        elif p.suffix == ".xlsx":
            wb = load_workbook(p)
            yield p, "\n".join(str(c.value) for ws in wb for r in ws.iter_rows() for c in r
                               if isinstance(c.value, str))


def test_the_scan_knows_the_english_it_looks_for():
    phrases = english_phrases()
    assert "What would settle it" in phrases and "Deadweight check" in " ".join(phrases)
    assert "persons per arm" in " ".join(phrases)
    assert not any(p in phrases for p in ("Bruto", "Netto", "Data"))  # shared words


def test_no_english_catalogue_phrase_in_dutch_reports(dutch_reports):
    _, out = dutch_reports
    phrases = english_phrases()
    found = {(p.relative_to(out).as_posix(), ph) for p, text in _texts(out) for ph in phrases
             if ph in text}
    assert not found, sorted(found)[:20]


def test_settle_deadweight_check_and_costs_in_dutch(dutch_reports):
    batch, out = dutch_reports
    ni = (out / "inspectie_bijstand45plus" / "index.html").read_text(encoding="utf-8")
    assert "Wat uitsluitsel zou geven" in ni and "personen per arm" in ni
    size = batch.summaries["inspectie_bijstand45plus"]["settle"]["size"]
    assert f"{size['persons_per_arm']:,}".replace(",", ".") + " personen per arm" in ni
    assert "Opzet: <b>observationeel</b>" in ni
    page = (out / "ontwikkeladvies_matching" / "index.html").read_text(encoding="utf-8")
    assert "Deadweightcontrole: zelfgerapporteerd tegenover geschat" in page
    assert "Verdringing" in page and "zelfrapportage" in page
    assert "Kosten per netto-uitkomst" in page
    s = batch.summaries["ontwikkeladvies_matching"]
    assert {r["verdict_key"] for r in s["deadweight_check"]["comparisons"]} <= {
        "above", "below", "within", "no_interval"}
    portfolio = (out / "index.html").read_text(encoding="utf-8")
    ipw = next(e for e in s["estimates"] if e["name"] == "ipw (ATT)")
    cost = ipw["diagnostics"]["cost_per_outcome"]
    from causal.costs import portfolio_text

    cell = portfolio_text(cost, "nl")
    assert cell in portfolio and (" tot " in cell or cell == "onbegrensd")
    from openpyxl import load_workbook

    heads = [c.value for c in load_workbook(out / "summary.xlsx")["portfolio"][1]]
    assert {"Kosten per netto-uitkomst", "95% onder", "n behandeld", "bron"} <= set(heads)


def test_numbers_in_dutch_sentences():
    from causal.costs import portfolio_text
    from causal.power import settling_sentence, settling_size

    size = settling_size(0.15, 0.21, compliance=0.6, cluster_size=25, icc=0.05)
    nl, en = settling_sentence(size, "nl"), settling_sentence(size, "en")
    n = size["persons_per_arm"]
    assert nl.startswith(f"{n:,}".replace(",", ".") + " personen per arm")
    assert "15,0% tegenover 21,0%" in nl and "alfa 0,05" in nl and "designeffect" in nl
    assert en.startswith(f"{n:,} persons per arm") and "alpha 0.05" in en
    c = {"value": 12345.0, "low": 8000.0, "high": 25000.0, "unbounded": False}
    assert portfolio_text(c, "nl") == "EUR 12.300 (8.000 tot 25.000)"
    assert portfolio_text(c, "en") == "EUR 12,300 (8,000 to 25,000)"
    assert portfolio_text({"unbounded": True}, "nl") == "onbegrensd"


def test_dutch_page_details_and_portfolio_layout(dutch_reports):
    _, out = dutch_reports
    ni = (out / "inspectie_bijstand45plus" / "index.html").read_text(encoding="utf-8")
    assert "synthetische tweeling van inspectie_bijstand45plus" in ni
    assert "Geen: het effect is niet geïdentificeerd (zie boven)." in ni  # not the reason again
    page = (out / "ontwikkeladvies_matching" / "index.html").read_text(encoding="utf-8")
    assert "Uitkomst: een andere werkgever of functie" in page  # outcome.label_nl
    portfolio = (out / "index.html").read_text(encoding="utf-8")
    # the published column has its own width; identifiers break after underscores only
    assert '<col class="c-published">' in portfolio and "col.c-published{width:" in portfolio
    assert "propensity_<wbr>matching" in portfolio
    assert "inspectie_bijstand45plus" in portfolio and "propensity_matching<" not in portfolio
    # a row without an estimate gives its reason across the row, not in a narrow cell
    assert re.search(r'<td class="l small" colspan="7"><span class="fail">niet geïdentificeerd'
                     r'</span> <span class="muted">de casussen zijn getrokken', portfolio)


def test_figure_ticks_with_a_decimal_comma_in_dutch():
    from causal.report.figures import forest

    rows = [{"measure": "m", "name": "ipw (ATT)", "estimator": "ipw", "preferred": True,
             "net": -0.2, "ci_low": -1.3, "ci_high": 0.8, "unit": "pp"}]
    labels = {}
    for lang in ("nl", "en"):
        fig = forest(rows, lang=lang)
        fig.draw_without_rendering()
        labels[lang] = [x.get_text() for x in fig.axes[0].get_xticklabels()]
    assert any("," in x for x in labels["nl"]) and not any("." in x for x in labels["nl"])
    assert any("." in x for x in labels["en"])


def test_not_identified_reason_and_settle_in_dutch(dutch_reports):
    from causal.spec import load_spec

    _, out = dutch_reports
    spec = load_spec(SPECS / "inspectie_bijstand45plus.yaml")
    import html

    ni = html.unescape((out / "inspectie_bijstand45plus" / "index.html").read_text("utf-8"))
    ident, st = spec.identification, spec.identification.settle
    assert f"te identificeren:</b> {ident.reason_nl}</p>" in ni
    assert f"geven:</b> {st.design_nl} <b>Data:</b> {st.data_nl} <b>Omvang:</b>" in ni
    assert f"({st.power.basis_nl})." in ni
    for en in (st.design, st.data, st.power.basis):  # (the design warnings quote the reason)
        assert en[:50] not in ni
    portfolio = html.unescape((out / "index.html").read_text(encoding="utf-8"))
    assert f"</a>: {ident.reason_nl}</li>" in portfolio  # not plotted, and why


def test_every_bundled_spec_gives_its_outcome_and_why_not_identified_in_dutch():
    """The Dutch sentence names the outcome (outcome.label_nl); a not-identified measure says
    why and what would settle it in Dutch."""
    from causal.spec import load_spec

    missing = []
    for p in sorted(SPECS.glob("*.yaml")):
        spec = load_spec(p)
        ident = spec.identification
        st = ident.settle
        if not spec.outcome.label_nl:
            missing.append(f"{p.name}: outcome.label_nl")
        if ident.status == "not_identified" and not ident.reason_nl:
            missing.append(f"{p.name}: reason_nl")
        if ident.adjustment_reason and not ident.adjustment_reason_nl:
            missing.append(f"{p.name}: adjustment_reason_nl")
        if st is not None and not (st.design_nl and st.data_nl):
            missing.append(f"{p.name}: settle.design_nl / data_nl")
        if st is not None and st.power is not None and not st.power.basis_nl:
            missing.append(f"{p.name}: settle.power.basis_nl")
    assert not missing, missing


def test_gate_reasons_in_dutch(dutch_reports):
    from causal.messages import known

    text = ("naive: estimate and its diagnostics (rests on fewer than 10 persons (n_a)); "
            "figure x_overlap (bins under 10 persons merged with their neighbours)")
    assert known(text, "nl") == (
        "naive: schatting en diagnostiek (berust op minder dan 10 personen (n_a)); "
        "figuur x_overlap (klassen onder 10 personen samengevoegd met hun buren)")
    assert known(text, "en") == text and known("the spec's own words", "nl") == \
        "the spec's own words"
    _, out = dutch_reports
    s = (out / "inspectie_bijstand45plus" / "index.html").read_text(encoding="utf-8")
    assert "Om die reden weggelaten" in s and "berust op minder dan 10 personen" in s
    assert "rests on fewer than" not in s


def test_not_identified_sentence_in_summary_gives_the_dutch_reason(dutch_reports):
    batch, _ = dutch_reports
    s = batch.summaries["inspectie_bijstand45plus"]
    e = next(e for e in s["estimates"] if e["estimator"] == "propensity_matching")
    assert e["sentences"]["nl"].startswith("Er kan geen netto-effect worden gegeven: de casussen")
    assert e["sentences"]["en"].startswith("No net effect can be given: the cases")


def test_word_and_excel_carry_the_deadweight_check_and_why_not_identified(dutch_reports):
    import docx
    from openpyxl import load_workbook

    from causal.spec import load_spec

    _, out = dutch_reports
    d = docx.Document(str(out / "ontwikkeladvies_matching" / "report.docx"))
    assert "Deadweightcontrole: zelfgerapporteerd tegenover geschat" in [p.text for p in
                                                                          d.paragraphs]
    heads = [[c.text for c in t.rows[0].cells] for t in d.tables]
    assert ["Schatter", "Verdringing", "Geschat doorslaggevend aandeel", "Interval",
            "Zelfrapportage"] in heads
    ws = load_workbook(out / "summary.xlsx")["inspectie_bijstand45plus"]
    text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    spec = load_spec(SPECS / "inspectie_bijstand45plus.yaml")
    assert spec.identification.reason_nl in text
    assert spec.identification.settle.design_nl in text


def _spec_prose() -> list[str]:
    """Every string a bundled spec gives (titles, labels, citations, reasons, options): the
    user's words, which may be English on a Dutch page."""
    import yaml

    def strings(node):
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str) and len(node.split()) >= 3:  # prose, not a single name
            yield node.strip()

    out: set[str] = set()
    for p in SPECS.glob("*.yaml"):
        out |= set(strings(yaml.safe_load(p.read_text("utf-8"))))
    return sorted(out, key=len, reverse=True)


def _page_text(p) -> str:
    import html

    text = p.read_text(encoding="utf-8")
    if p.suffix == ".html":
        text = re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<style.*?</style>", "", text))
    return html.unescape(text.replace("\\", ""))


#: English function words that Dutch report text never holds
#: (' is ' is Dutch too)
ENGLISH_WORDS = (" the ", " of the ", " with ", " and ", " would ")


def test_every_bundled_spec_reads_in_dutch(bundled_reports, tmp_path):
    """The estimators' text (method, standard error, warnings, assumptions, sensitivity and
    refuter readings, adjustment notes, the gate's reasons) on the Dutch pages of every
    bundled spec, rendered from the session's batch: every passage the phrase table
    (causal/messages/estimators.yaml) fully translates, and no English function word is left
    outside the specs' own words. The English pages keep the estimators' English."""
    from causal.messages import translate
    from causal.report.portfolio import write_portfolio
    from causal.report.writer import write_pages

    batch, out = bundled_reports
    prose = _spec_prose()
    translate.misses("nl", clear=True)
    for m, s in sorted(batch.summaries.items()):
        (tmp_path / m).mkdir()
        write_pages(s, tmp_path / m, "nl")
    write_portfolio(batch, tmp_path, "nl")
    missed = {x for x in translate.misses("nl", clear=True)
              if not any(x in p or p in x and len(x) - len(p) < 5 for p in prose)}
    assert not missed, sorted(missed)[:10]
    english = []
    for p in [*tmp_path.rglob("*.md"), *tmp_path.rglob("*.html")]:
        text = _page_text(p)
        for x in prose:
            text = text.replace(x, " ")
        for w in ENGLISH_WORDS:
            for hit in re.finditer(re.escape(w), text):
                english.append(f"{p.relative_to(tmp_path)}: ...{text[hit.start() - 60:hit.end() + 60]}...")
    assert not english, "\n".join(english[:15])
    # English pages: the estimators' own words
    s = next(s for s in batch.summaries.values() if any(e.get("method") for e in s["estimates"]))
    e = next(e for e in s["estimates"] if e.get("method"))
    page = _page_text(out / s["measure"] / "report.md")
    assert e["method"].replace("\\", "")[:60] in page
