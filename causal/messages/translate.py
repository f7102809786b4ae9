"""Free English text written by netto's estimators and figures, in the reader's language.

Estimators write their method description, warnings and readings in English, with numbers and
names filled in (``"Standard errors clustered by region (12 clusters)."``). Rather than turn
some 600 such passages into message keys threaded through every estimator, the Dutch wording
is kept as a phrase table keyed by the English text, the way gettext keys a translation by its
``msgid`` (GNU gettext manual, 1995-2024, "The Format of PO Files"): every catalogue section
whose name ends in ``_phrases`` (``nl: fig_phrases: {"Standardised mean difference":
"Gestandaardiseerd verschil"}``) maps an English phrase to its translation.

A phrase may hold placeholders. ``{n}``, ``{n2}``, ... (names starting with ``n``) match a
number (``-1,234.5``, ``0.05``, ``12``); any other name (``{what}``) matches any text, which is
itself translated before it is put back. A whole text that matches a phrase is translated as a
whole; otherwise every phrase found inside it is replaced, longest first. Numbers in the
English text are written the Dutch way (decimal comma) only where a placeholder carried them.

A section whose name ends in ``_labels`` (``fig_labels``) holds phrases of the same form
that match a whole text only (a figure's axis label, legend entry or tick): never replaced
inside a longer passage, so a short label ("observed") cannot turn up half-translated in an
estimator's sentence, nor hide it from :func:`misses`.

What no phrase matched is recorded (:func:`misses`), so a test can render every bundled spec in
Dutch and fail on any English passage left (``tests/test_report_lang.py``).

Written by hand: gettext/babel translate whole fixed strings; netto's texts carry numbers and
names inside them, which needs the pattern matching here (a few dozen lines).
"""
from __future__ import annotations

import functools
import re
from typing import Any

from causal.messages import DEFAULT_LANG, catalogue

_NUM = r"[-−+]?\d[\d,]*(?:\.\d+)?"
_MISSES: dict[str, set[str]] = {}


@functools.cache
def _phrases(lang: str) -> tuple[list[tuple[re.Pattern[str], str, str, bool]], dict[str, str]]:
    """(patterns longest first, each with whether it may match inside a longer text; exact
    table) from every ``*_phrases`` and ``*_labels`` section of ``lang``."""
    table: dict[str, str] = {}
    whole: set[str] = set()
    for name, section in catalogue().get(lang, {}).items():
        if name.endswith(("_phrases", "_labels")):
            dup = set(table) & set(section)
            if dup:
                raise RuntimeError(f"{lang}.{name}: phrases already translated elsewhere: "
                                   f"{sorted(dup)[:3]}")
            table.update(section)
            if name.endswith("_labels"):
                whole |= set(section)
    exact = {en: nl for en, nl in table.items() if "{" not in en}
    pats = []
    for en, nl in table.items():
        rx = re.escape(en)
        for ph in re.findall(r"\{(\w+)\}", en):
            sub = _NUM if ph.startswith("n") else r".+?"
            rx = rx.replace(re.escape("{" + ph + "}"), f"(?P<{ph}>{sub})", 1)
        pats.append((len(en), re.compile(rx), nl, en))
    pats.sort(key=lambda p: -p[0])
    return [(rx, nl, en, en not in whole) for _, rx, nl, en in pats], exact


def _fill(m: re.Match[str], nl: str, lang: str, depth: int) -> str:
    vals: dict[str, Any] = {}
    for k, v in m.groupdict().items():
        if k.startswith("n"):
            vals[k] = _num(v, lang)
        else:
            vals[k] = tr(v, lang, _depth=depth + 1, _record=False)
    return nl.format(**vals)


def _num(v: str, lang: str) -> str:
    if lang != "nl":
        return v
    return v.replace(",", "\0").replace(".", ",").replace("\0", ".")


def tr(text: Any, lang: str = DEFAULT_LANG, *, _depth: int = 0, _record: bool = True) -> Any:
    """``text`` in ``lang`` (non-strings and English pass through unchanged)."""
    if lang == DEFAULT_LANG or not isinstance(text, str) or not text.strip() or _depth > 4:
        return text
    pats, exact = _phrases(lang)
    s = text.strip()
    if s in exact:
        return text.replace(s, exact[s])
    for rx, nl, _en, _inner in pats:
        m = rx.fullmatch(s)
        if m:
            return text.replace(s, _fill(m, nl, lang, _depth))
    out = s
    hit = False
    for rx, nl, _en, inner in pats:
        if not inner:
            continue
        new = rx.sub(lambda m, nl=nl: _fill(m, nl, lang, _depth), out)
        hit = hit or new != out
        out = new
    if not hit and _record and re.search(r"[A-Za-z]{3}", s):
        _MISSES.setdefault(lang, set()).add(s)
    return text.replace(s, out)


def exact(text: str, lang: str = DEFAULT_LANG) -> str | None:
    """``text`` translated as a whole by a phrase without placeholders, else None (a name:
    a column, a category, a spec's own wording; not recorded as a miss)."""
    if lang == DEFAULT_LANG:
        return text
    return _phrases(lang)[1].get(text.strip())


def misses(lang: str = "nl", clear: bool = False) -> set[str]:
    """Texts :func:`tr` found no phrase for since the last ``clear``."""
    out = set(_MISSES.get(lang, set()))
    if clear:
        _MISSES.pop(lang, None)
    return out
