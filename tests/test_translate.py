"""The phrase table for free English text (causal/messages/translate.py)."""
from __future__ import annotations

import pytest

from causal.messages import translate


@pytest.fixture
def table(monkeypatch):
    phrases = {"Standardised mean difference": "Gestandaardiseerd verschil",
               "clustered by {what} ({n} clusters)": "geclusterd naar {what} ({n} clusters)",
               "region": "regio",
               "Effect in {n} months": "Effect in {n} maanden"}
    translate._phrases.cache_clear()
    monkeypatch.setattr(translate, "catalogue", lambda: {"nl": {"x_phrases": phrases}})
    translate.misses("nl", clear=True)
    yield
    translate._phrases.cache_clear()


def test_exact_pattern_inner_and_miss(table):
    tr = translate.tr
    assert tr("Standardised mean difference", "nl") == "Gestandaardiseerd verschil"
    assert tr("clustered by region (1,200 clusters)", "nl") == \
        "geclusterd naar regio (1.200 clusters)"
    assert tr("Effect in 2.5 months", "nl") == "Effect in 2,5 maanden"
    assert tr("Note: Effect in 3 months.", "nl") == "Note: Effect in 3 maanden."
    assert tr("Standardised mean difference", "en") == "Standardised mean difference"
    assert translate.misses("nl") == set()
    tr("Something else entirely", "nl")
    assert translate.misses("nl", clear=True) == {"Something else entirely"}
    assert translate.misses("nl") == set()
