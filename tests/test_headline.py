"""The headline a policy reader quotes: decomposition and sentence per estimand, in English
and Dutch, from one catalogue (issue 16); published gross figures comparable only when
declared so; text that cannot act as a formula or as Markdown (issue 15 item 8)."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from causal import messages as msg
from causal.errors import SpecError
from causal.report.textsafe import cell, md
from causal.result import Estimate
from causal.spec import load_spec

LAB = dict(outcome_label="found work within 12 months",
           outcome_label_nl="werk binnen 12 maanden")


def est(estimand: str, net, lo=None, hi=None, gross=None, **kw) -> Estimate:
    return Estimate("m", kw.pop("estimator", "x"), estimand, net, lo, hi, gross=gross,
                    **{**LAB, **kw})


# -- decomposition ----------------------------------------------------------------------
@pytest.mark.parametrize("estimand,population", [("ATT", "participants"), ("ITT", "assigned"),
                                                 ("LATE", "compliers"),
                                                 ("LATE_cutoff", "at_threshold")])
def test_decomposition_names_the_estimands_group(estimand, population):
    d = est(estimand, 5.0, 2.0, 8.0, gross=40.0).decomposition()
    assert d["population"] == population
    assert d["counterfactual"] == pytest.approx(35.0)
    assert d["deadweight"] == pytest.approx(35 / 40)
    # the interval maps the net interval through 1 - net / gross
    assert d["deadweight_low"] == pytest.approx(1 - 8 / 40)
    assert d["deadweight_high"] == pytest.approx(1 - 2 / 40)
    assert d["deadweight_status"] == "estimated"


@pytest.mark.parametrize("estimand", ["ATE", "dose_response"])
def test_no_participants_decomposition_for_ate_or_dose(estimand):
    """An ATE is about everyone: the participants' gross would mix two populations."""
    e = est(estimand, 5.0, 2.0, 8.0, gross=54.0)
    d = e.decomposition()
    assert d["gross"] is None and d["counterfactual"] is None and d["deadweight"] is None
    assert d["deadweight_status"] == "not_applicable"
    row = e.to_dict()
    assert row["gross"] is None and row["deadweight"] is None


def test_no_deadweight_on_naive_rows():
    d = est("naive", 12.0, 10.0, 14.0, gross=40.0).to_dict()
    assert d["deadweight"] is None and d["counterfactual"] is None
    assert d["deadweight_status"] == "naive" and d["gross"] == 40.0


@pytest.mark.parametrize("net,lo,hi,status", [(-3.0, -5.0, -1.0, "no_positive_effect"),
                                              (2.4, -0.7, 5.5, "not_distinguishable"),
                                              (-0.5, -2.0, 1.0, "not_distinguishable")])
def test_words_instead_of_a_deadweight_above_100_percent(net, lo, hi, status):
    e = est("ATT", net, lo, hi, gross=20.0)
    d = e.decomposition()
    assert d["deadweight"] is None and d["deadweight_status"] == status
    for lang in msg.LANGS:
        words = msg.deadweight_text(d, lang)
        assert words and "%" not in words


def test_deadweight_is_a_share_even_when_net_exceeds_gross():
    d = est("ATT", 30.0, 25.0, 35.0, gross=20.0).decomposition()
    assert d["deadweight"] == 0.0 and 0 <= d["deadweight_low"] <= d["deadweight_high"] <= 1


# -- the sentence per estimand ----------------------------------------------------------
CASES = {
    "ATT": (["Of the participants", "would have happened anyway", "the measure added"],
            ["van de deelnemers", "zou ook zonder de maatregel zijn gebeurd", "netto-effect"]),
    "ITT": (["Of those invited", "without the invitation", "the invitation added"],
            ["van de uitgenodigden", "zonder de uitnodiging", "netto-effect van de uitnodiging"]),
    "LATE": (["took part because they were invited", "taking part added"],
             ["deelnam omdat hij of zij werd uitgenodigd", "netto-effect van deelname"]),
    "ATE": (["For the population as a whole", "the share who found work"],
            ["Voor de populatie als geheel", "het aandeel met werk binnen 12 maanden"]),
}


@pytest.mark.parametrize("estimand", list(CASES))
def test_sentence_per_estimand_in_both_languages(estimand):
    e = est(estimand, 5.0, 2.0, 8.0, gross=40.0)
    en, nl = CASES[estimand]
    for want in en:
        assert want in e.sentence("en"), (want, e.sentence("en"))
    for want in nl:
        assert want in e.sentence("nl"), (want, e.sentence("nl"))
    assert "95% confidence interval 2.0 to 8.0" in e.sentence("en")
    assert "95%-betrouwbaarheidsinterval 2,0 tot 8,0" in e.sentence("nl")
    if estimand == "ATE":
        assert "participants" not in e.sentence("en") and "40%" not in e.sentence("en")


def test_itt_does_not_call_the_invited_participants_nor_claim_a_zero_spanning_effect():
    e = est("ITT", 2.4, -0.7, 5.5, gross=16.0)
    en, nl = e.sentence("en"), e.sentence("nl")
    assert "Of the participants" not in en and "Of those invited, 16%" in en
    assert "not distinguishable from zero" in en and "added" not in en
    assert "would have happened" not in en  # no counterfactual read off an effect of ~0
    assert "niet te onderscheiden van nul" in nl


def test_dose_response_per_unit_and_credible_interval():
    e = est("dose_response", 0.8, 0.2, 1.4, unit="pp per EUR 1M",
            interval="95% credible interval")
    assert e.sentence("en").startswith("Per additional EUR 1M, the share who found work")
    assert "95% credible interval 0.2 to 1.4" in e.sentence("en")
    assert "Per extra EUR 1M" in e.sentence("nl")
    assert "95%-geloofwaardigheidsinterval" in e.sentence("nl")


def test_continuous_outcome_in_its_unit():
    e = est("ATT", 1250.0, 300.0, 2200.0, gross=25000.0, unit="EUR per year",
            outcome_label="earnings")
    s = e.sentence("en")
    assert "EUR 1,250 per year" in s and "EUR 25,000 per year" in s and "units" not in s
    assert "EUR 1.250 per year" in e.sentence("nl")


def test_negative_effect_is_said_as_lowering():
    e = est("ATT", -3.0, -5.0, -1.0, gross=20.0)
    assert "lowered it by 3.0 points" in e.sentence("en")
    assert "verlaagde" in e.sentence("nl")


def test_not_identified_and_naive_sentences():
    e = est("-", None, reason="the comparison group was chosen by outcome")
    assert e.sentence("en").startswith("No net effect can be given: the comparison group")
    assert e.sentence("nl").startswith("Er kan geen netto-effect worden gegeven")
    nv = est("naive", 12.0, 10.0, 14.0, gross=40.0)
    assert "not an effect" in nv.sentence("en") and "geen effect" in nv.sentence("nl")


def _placeholders(node, prefix=""):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            out.update(_placeholders(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: {f for _, f, _, _ in string.Formatter().parse(node) if f}}


def test_catalogue_has_every_key_and_placeholder_in_both_languages():
    """Keyed messages in both languages with the same placeholders; a section only the
    Dutch side has is a phrase table keyed by the English itself (``*_phrases``,
    ``*_labels``: causal/messages/translate.py), with the same placeholders in each phrase
    and its translation."""
    cat = msg.catalogue()
    keyed = {lang: {k: v for k, v in cat[lang].items() if k in cat["en"]} for lang in ("en", "nl")}
    en, nl = _placeholders(keyed["en"]), _placeholders(keyed["nl"])
    assert set(en) == set(nl)
    for k in en:
        assert en[k] == nl[k], k
    tables = [v for k, v in cat["nl"].items() if k not in cat["en"]]
    assert any(k.endswith("_phrases") for k in cat["nl"])
    for table in tables:
        for phrase, loc in table.items():
            fields = [{f for _, f, _, _ in string.Formatter().parse(x) if f} for x in (phrase, loc)]
            assert fields[0] == fields[1], phrase


def test_lang_resolution(monkeypatch):
    monkeypatch.delenv("NETTO_LANG", raising=False)
    assert msg.resolve_lang(None, None) == "en"
    assert msg.resolve_lang(None, "nl") == "nl"
    monkeypatch.setenv("NETTO_LANG", "nl")
    assert msg.resolve_lang(None, "en") == "nl"
    assert msg.resolve_lang("en", "nl") == "en"
    with pytest.raises(Exception, match="expected one of en, nl"):
        msg.resolve_lang("de")


# -- published gross: comparable only when declared --------------------------------------
def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_comparable_needs_population_horizon_and_denominator(spec_copy):
    p = spec_copy()
    _edit(p, "    unit: percent\n    n: 157\n", "    unit: percent\n    n: 157\n    comparable: true\n"
          "    same_horizon: true\n")
    with pytest.raises(SpecError, match="same_population: true, same_denominator: true"):
        load_spec(p)
    _edit(p, "    same_horizon: true\n", "    same_horizon: true\n    same_population: true\n"
          "    same_denominator: true\n")
    rep = load_spec(p).reported_gross()
    assert rep.comparable and rep.not_comparable_reason() is None


def test_preferred_must_name_an_estimator(spec_copy):
    p = spec_copy()
    _edit(p, 'preferred: "rct_difference (ITT)"', 'preferred: "aipw"')
    with pytest.raises(SpecError, match="preferred"):
        load_spec(p)


def test_bundled_specs_declare_comparability():
    """Every bundled headline figure is either declared like-for-like or says why not."""
    from tests.conftest import SPECS

    for p in sorted(SPECS.glob("*.yaml")):
        spec = load_spec(p)
        for r in spec.reported:
            assert r.comparable == (r.same_population and r.same_horizon and
                                    r.same_denominator and r.role == "outcome"
                                    and r.comparable)
            if r.role == "outcome" and not r.comparable:
                assert r.not_comparable_reason()


# -- text safety ------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                 "\t=1", "\r=1"])
def test_spreadsheet_cells_never_start_a_formula(bad):
    assert not cell(bad).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell(bad).endswith(bad)


def test_numbers_and_plain_text_stay_as_they_are():
    assert cell(-2.5) == -2.5 and cell("Almere") == "Almere"


def test_markdown_escaped():
    s = md("<script>alert(1)</script> [click](http://x) | *b* _i_ `c`\n# head")
    assert "<" not in s and ">" not in s
    assert "\\[click\\]" in s and "\\|" in s and "\\*b\\*" in s and "\\`c\\`" in s
    assert "\n" not in s
    assert re.search(r"(?<!\\)[*_`|\[]", s) is None


# -- the written reports ----------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    """Almere with spec text that tries to be a formula, HTML and Markdown, run in Dutch."""
    import shutil

    from causal.batch import run_batch
    from tests.conftest import ROOT, SPECS

    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "data_specs").mkdir()
    shutil.copytree(ROOT / "models", tmp / "models")
    p = tmp / "data_specs" / "almere_aanpak45plus.yaml"
    text = (SPECS / "almere_aanpak45plus.yaml").read_text()
    text = re.sub(r"^title: .*$", 'title: "=HYPERLINK(\\"http://evil\\") <script>x</script> | [a](b)"',
                  text, count=1, flags=re.M)
    p.write_text(text)
    out = tmp / "reports"
    batch = run_batch([p], out=out, workers=1, n=600, lang="nl")
    return batch, out


def test_csv_and_markdown_from_hostile_spec_text(hostile_batch):
    import csv

    _, out = hostile_batch
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert rows and all(not v.startswith(("=", "+", "@")) for r in rows for v in r.values())
    assert rows[0]["title"].startswith("'=HYPERLINK")
    md_text = (out / "almere_aanpak45plus" / "report.md").read_text()
    assert "<script>" not in md_text and "&lt;script&gt;" in md_text and "\\[a\\](b)" in md_text
    html = (out / "almere_aanpak45plus" / "index.html").read_text()
    assert "<script>" not in html


def test_reports_in_dutch_with_svg_and_200_dpi_png(hostile_batch):
    from PIL import Image

    _, out = hostile_batch
    page = (out / "almere_aanpak45plus" / "index.html").read_text()
    assert '<html lang="nl">' in page and "Bruto, contrafeitelijk en netto" in page
    assert "van de uitgenodigden" in page and "NAÏEF" in page
    assert "Onthullingsbeheersing" in page and "suppress" not in page
    for stem in (out / "forest", out / "almere_aanpak45plus" / "decomposition"):
        assert stem.with_suffix(".svg").read_text().lstrip().startswith("<?xml")
        dpi = Image.open(stem.with_suffix(".png")).info["dpi"]
        assert round(dpi[0]) == 200
    summary = (out / "almere_aanpak45plus" / "summary.json").read_text()
    assert '"preferred": "rct_difference (ITT)"' in summary


def test_xlsx_and_docx_read_back(hostile_batch):
    import docx
    from openpyxl import load_workbook

    batch, out = hostile_batch
    wb = load_workbook(out / "summary.xlsx")
    assert wb.sheetnames[0] == "portfolio" and "almere_aanpak45plus" in wb.sheetnames
    ws = wb["portfolio"]
    heads = [c.value for c in ws[1]]
    assert "Netto" in heads and "Schatter" in heads  # Dutch headers (lang="nl")
    for row in ws.iter_rows():
        for c in row:
            assert c.data_type != "f", c.coordinate
            if isinstance(c.value, str):
                assert not c.value.startswith(("=", "+", "@")), c.value
    s = batch.summaries["almere_aanpak45plus"]
    itt = next(e for e in s["estimates"] if e["name"] == "rct_difference (ITT)")
    col = heads.index("Netto") + 1
    nets = [ws.cell(r, col).value for r in range(2, ws.max_row + 1)]
    assert itt["net"] in nets
    text = " ".join(str(c.value) for r in wb["almere_aanpak45plus"].iter_rows() for c in r
                    if c.value is not None)
    assert itt["sentences"]["nl"] in text and "Table 4.1" in text  # sentence and citation
    d = docx.Document(str(out / "almere_aanpak45plus" / "report.docx"))
    body = "\n".join(p.text for p in d.paragraphs)
    assert itt["sentences"]["nl"] in body
    assert d.tables and d.tables[0].rows[0].cells[0].text == "Schatter"
    assert len(d.inline_shapes) >= 1  # the decomposition figure


def test_exports_pass_the_audit(hostile_batch):
    from causal.audit import audit

    _, out = hostile_batch
    found = [v for v in audit(out) if Path(v.file).suffix in (".xlsx", ".docx")]
    assert found == []


def test_an_estimate_without_an_interval_claims_no_effect_and_no_deadweight():
    """Too few treated groups give a number without an interval: the sentence must not say
    the measure added it, and the deadweight is words, not a share (both languages)."""
    from causal.messages import deadweight_text, sentence
    from causal.result import decompose

    d = decompose("ATT", 2.7, None, None, 86.9)
    assert d["deadweight"] is None and d["deadweight_status"] == "no_interval"
    e = dict(estimand="ATT", net=2.7, ci_low=None, ci_high=None, unit="pp", gross=86.9,
             counterfactual=84.2, outcome_label="were employed", outcome_label_nl="werk")
    en, nl = sentence(e, "en"), sentence(e, "nl")
    assert "added" not in en and "not distinguishable from zero" in en and "no interval" in en
    assert "niet te onderscheiden van nul" in nl and "geen interval" in nl
    assert "%" not in deadweight_text(d, "en") and deadweight_text(d, "nl", short=True) == \
        "geen interval"
    with_ci = dict(e, ci_low=1.0, ci_high=4.0)
    assert "added 2.7" in sentence(with_ci, "en")
