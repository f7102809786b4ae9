"""Dutch figures (issue 16, item 5): every diagnostic figure an estimator draws is shown in
Dutch on a Dutch report (titles, axis labels, legends, ticks, decimal comma), and left in
English on an English one; a Dutch and an English run never share cached figures.

Each bundled figure-drawing estimator runs once on a small twin (refuters off); the
multilevel and pooled figures are drawn from made-up rows (their sampling is tested in
test_multilevel / test_pooling). Every text the walker translated must have matched a
phrase (not recorded by :func:`translate.misses`) or be only names and numbers.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from causal.messages import catalogue, translate
from causal.report.figure_lang import Localiser, decimal_comma, localise_figure, study_names
from tests.conftest import SPECS

#: (spec, estimator, options): one of every estimator that draws figures
CASES = [
    ("ontwikkeladvies_matching", "propensity_matching", {"estimands": ["ATT"]}),
    ("ontwikkeladvies_matching", "ipw", {"estimands": ["ATT"]}),
    ("ontwikkeladvies_matching", "dml", {"by": ["age_group", "region"], "nuisance": "linear"}),
    ("sectorplan_did", "event_study", None),
    ("no_riskpolis_ddd", "triple_difference", None),
    ("loonkostenvoordeel_rdd", "rdd", None),
    ("almere_aanpak45plus_duration", "duration", None),
    ("actieplan50plus_its", "interrupted_time_series", None),
    ("almere_bijstand_synth", "synthetic_control", {"variants": ["augmented"]}),
]


def _untranslated(say: Localiser) -> list[str]:
    """Lines the walker saw that no phrase matched and that are not only names/numbers."""
    missed = translate.misses("nl")
    return [line for en, _ in say.seen for line in en.split("\n")
            if line.strip() and not say.plain(line) and line.strip() in missed]


def _figures(spec_name: str, est: str, opts: dict | None):
    from causal.pipeline import prepare, run_estimator
    from causal.report.gate_figures import GatedFigure
    from causal.spec import load_spec

    spec = load_spec(SPECS / f"{spec_name}.yaml")
    st = prepare(spec, n=1500)
    ests = run_estimator(st, est, {**spec.estimator_options(est), **(opts or {})},
                         refute=False)
    figs = [(f"{e.name} {k}", v) for e in ests for k, v in e.figures.items()
            if isinstance(v, GatedFigure)]
    assert figs, f"{spec_name} {est}: no gated figure"
    return st, figs


@pytest.mark.parametrize("spec_name,est,opts", CASES, ids=[c[1] for c in CASES])
def test_estimator_figures_in_dutch(spec_name, est, opts, monkeypatch):
    monkeypatch.setenv("NETTO_REFUTE", "0")
    st, figs = _figures(spec_name, est, opts)
    translate.misses("nl", clear=True)
    for name, item in figs:
        en = item(lang="en")
        fig = item()
        say = localise_figure(fig, "nl", study_names(st))
        fig.draw_without_rendering()  # tick labels go through the walker when drawn
        assert _untranslated(say) == [], name
        title = fig.axes[0].get_title()
        assert title != en.axes[0].get_title(), f"{name}: title left in English"
        # numbers the Dutch way: every tick with a decimal point shown with a comma
        ticks = [(a, b) for a, b in say.seen if re.fullmatch(r"[−-]?\d+\.\d+", a)]
        assert all(b == a.replace(".", ",") for a, b in ticks), name


def test_multilevel_pooled_and_sensitivity_figures_in_dutch():
    from types import SimpleNamespace

    from causal.estimators.multilevel_output import dose_figure, forest_figure, posterior_figure
    from causal.sensitivity.plot import contour

    rows = [{"group": g, "n": 40 + i, "raw": 1.5 * i, "raw_low": i - 2.0, "raw_high": i + 3.0,
             "pooled": 1.0 * i, "pooled_low": i - 1.5, "pooled_high": i + 1.5,
             "wgd_fte_per_10k": 0.3 * i} for i, g in enumerate(("Almere", "Utrecht"))]
    draws = np.random.default_rng(1).normal(2.0, 0.5, (2, 50))
    figs = [forest_figure(rows, 1.2, "pp", "region", 1.0),
            forest_figure(rows, 1.2, "pp", "project", None, title="Treated-vs-untreated "
                          "contrast by region (not an effect)"),
            forest_figure(rows, 1.2, "pp", "project", None,
                          title="Experimenten Meer Werk\nraw beside partially pooled, by project"),
            posterior_figure(draws, 1.1, 2.9, "pp", "national net effect", 2.0),
            posterior_figure(draws, 1.1, 2.9, "pp per unit of wgd_fte_per_10k", "dose-response"),
            dose_figure(rows, "wgd_fte_per_10k", "pp", "region")]
    lin = SimpleNamespace(rv=0.2, bias=lambda x, y: 8 * np.sqrt(x * y),
                          benchmarks={"age": {"bias": 0.4, "r2_treatment": 0.05,
                                              "r2_outcome": 0.03}})
    figs.append(contour(SimpleNamespace(net=2.5, name="ipw (ATT)"), lin, {"method": "np"}))
    names = ["Almere", "Utrecht", "wgd_fte_per_10k", "Experimenten Meer Werk", "project",
             "ipw (ATT)"]
    translate.misses("nl", clear=True)
    for fig in figs:
        say = localise_figure(fig, "nl", names)
        fig.draw_without_rendering()
        assert _untranslated(say) == []
        assert not any(re.search(r"raw|pooled|Posterior of|estimate|hidden|unit of|\d\.\d", b)
                       for _, b in say.seen)
    assert figs[0].axes[0].get_title() == "Effecten per regio: ruw naast gedeeltelijk gepoold"


def test_localiser_names_numbers_and_spec_label():
    say = Localiser("nl", {"sectorplan_did": "sectorplan_did", "left WW for work": "uit de WW"})
    assert say("sectorplan_did: event study") == \
        "sectorplan_did: effect per periode sinds invoering (event study)"
    assert say("left WW for work (%)") == "uit de WW (%)"  # the spec's label_nl
    assert say("participants (about 1,600)") == "deelnemers (circa 1.600)"
    assert say("−0.25") == "−0,25" and decimal_comma("1,234.5 and 2") == "1.234,5 and 2"
    assert say("education[T.hbo]") == "opleiding: hbo"
    assert Localiser("en")("observed") == "observed"
    assert Localiser("nl", ["observed", "Almere"])("observed") == "waargenomen"


def test_labels_match_whole_texts_only():
    """A ``*_labels`` phrase never replaces part of a longer text (an estimator's sentence)."""
    translate.misses("nl", clear=True)
    assert translate.tr("observed", "nl") == "waargenomen"
    sentence = "the observed series of the treated unit"
    assert translate.tr(sentence, "nl") == sentence
    assert sentence in translate.misses("nl", clear=True)


def test_figure_names_do_not_clash_with_label_words():
    """Column names shown in Dutch (fig_names) are swapped before phrases match: none may
    be a word of a phrase's English text, or that phrase would stop matching."""
    nl = catalogue()["nl"]
    words = {w for en in nl["fig_labels"] for w in re.findall(r"[A-Za-z_]+",
                                                              re.sub(r"\{\w+\}", "", en))}
    assert not set(nl["fig_names"]) & words


def test_english_untouched_and_cache_keys_differ(tmp_path, monkeypatch):
    from causal.batch import plan
    from causal.report.writer import render_figures

    monkeypatch.setenv("NETTO_REFUTE", "0")
    monkeypatch.delenv("NETTO_LANG", raising=False)
    spec = SPECS / "ontwikkeladvies_matching.yaml"
    en, _ = plan([spec], n=1500, estimators=["ipw"])
    nl, _ = plan([spec], n=1500, estimators=["ipw"], lang="nl")
    assert [t.lang for t in en + nl] == ["en", "nl"]
    assert en[0].key != nl[0].key and en[0].study_key == nl[0].study_key
    st, _ = _figures("ontwikkeladvies_matching", "ipw", {"estimands": ["ATT"]})
    for lang in ("en", "nl"):
        from causal.pipeline import run_estimator

        ests = run_estimator(st, "ipw", {"estimands": ["ATT"]}, refute=False)
        render_figures(ests, tmp_path / lang, None, lang, study_names(st))
    svg_en = (tmp_path / "en" / "ipw_ATT_overlap.svg").read_text(encoding="utf-8")
    svg_nl = (tmp_path / "nl" / "ipw_ATT_overlap.svg").read_text(encoding="utf-8")
    assert "propensity score" in svg_en and "propensityscore" not in svg_en
    assert "0.2" in svg_en and "0,2" not in svg_en
    assert "propensityscore" in svg_nl and "dichtheid" in svg_nl and "0,2" in svg_nl
    assert "density" not in svg_nl


def test_walker_reaches_every_kind_of_text():
    """Suptitle, the three titles, axis and colorbar labels, annotations, legend title and
    entries, category ticks: each translated; date ticks left to matplotlib."""
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    im = ax.imshow(np.arange(4.0).reshape(2, 2))
    fig.colorbar(im).set_label("density")
    fig.suptitle("observed")
    ax.set_title("counterfactual", loc="left")
    ax.set_title("intervention", loc="right")
    ax.set_xlabel("months since inflow")
    ax.set_ylabel("periods since adoption")
    ax.annotate("estimate 2.5", (0, 0))
    ax.text(1, 1, "raw contrast")
    ax.plot([0, 1], [0, 1], label="after adoption")
    ax.legend(title="before")
    ax.set_xticks([0, 1], ["before", "after weighting"])
    say = localise_figure(fig, "nl")
    fig.draw_without_rendering()
    shown = {b for _, b in say.seen}
    assert {"waargenomen", "contrafeitelijk (zonder de maatregel)", "start van de maatregel",
            "maanden sinds instroom", "perioden sinds invoering", "dichtheid", "schatting 2,5",
            "ruw verschil", "na invoering", "vóór", "na weging"} <= shown
    assert [t.get_text() for t in ax.get_xticklabels()] == ["vóór", "na weging"]
    assert ax.get_legend().get_title().get_text() == "vóór"


def test_longer_dutch_labels_are_wrapped_and_laid_out_again():
    """A y label the Dutch makes longer than its axes is high goes onto two lines, and the
    figure's one-off tight layout is redone so that nothing runs off the figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.plot([0, 12], [0, 16])
    ax.set_ylabel("found work (%, other exits competing)")
    fig.tight_layout()
    localise_figure(fig, "nl")
    fig.draw_without_rendering()
    label = ax.yaxis.label
    assert "\n" in label.get_text() and "werk gevonden" in label.get_text()
    box, page = label.get_window_extent(), fig.bbox
    assert box.x0 >= 0 and box.y0 >= 0 and box.y1 <= page.y1
