"""Free English text written by netto's estimators and figures, in the reader's language.

Estimators write their method description, warnings and readings in English, with numbers and
names filled in (``"Standard errors clustered by region (12 clusters)."``). Rather than turn
some 600 such passages into message keys threaded through every estimator, the Dutch wording
is kept as a phrase table keyed by the English text, the way gettext keys a translation by its
``msgid`` (GNU gettext manual, 1995-2024, "The Format of PO Files"): every catalogue section
whose name ends in ``_phrases`` (``nl: fig_phrases: {"Standardised mean difference":
"Gestandaardiseerd verschil"}``) maps an English phrase to its translation. The catalogue's
``known`` section (the output gate's reasons, :func:`causal.messages.known`) is part of the
table too.

A phrase may hold placeholders. ``{n}``, ``{n2}``, ... (``n`` and a number) match a
number (``-1,234.5``, ``0.05``, ``12``), written back the Dutch way (decimal comma);
``{id}``, ``{id2}``, ... match names and lists of them (no clause or sentence end) and
``{q}``, ``{quote}``, ... any text (spec prose), both put back as they are; any other name
(``{text}``, ``{what}``, ``{list}``) matches any text, which is itself translated before it
is put back: a ``{text...}`` must translate completely (else the phrase does not match as a
whole), the others may keep names between the phrases (``sex: 2 cells``).

A section whose name ends in ``_labels`` (``fig_labels``) holds phrases of the same form
that match a whole text only (a figure's axis label, legend entry or tick): never replaced
inside a longer passage, so a short label ("observed") cannot turn up half-translated in an
estimator's sentence, nor hide it from :func:`misses`. A whole text that matches a phrase is translated as a whole; otherwise every
phrase found inside it is replaced, longest first, and a replaced stretch is not translated
again. A phrase's first letter matches either case (the translation takes the case found).
Phrases match whole words only.

What is not fully translated is recorded (:func:`misses`): a text no phrase matched, or one
with English words left between the phrases that matched. A test renders every bundled spec
in Dutch and fails on any (``tests/test_report_lang.py``).

Written by hand: gettext/babel translate whole fixed strings; netto's texts carry numbers and
names inside them, which needs the pattern matching here (some hundred lines).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from causal.messages import DEFAULT_LANG, catalogue, dutch_separators

_NUM = r"(?:[-−+]?\d(?:[\d,]*\d)?(?:\.\d+)?|nan)"
_MISSES: dict[str, set[str]] = {}
#: English left in a text: a word of three or more letters, not an all-capitals acronym
_ENGLISH = re.compile(r"(?<![\w\[])(?![A-Z0-9]+\b)[A-Za-z][a-z]{2,}(?![\w\]])")


@dataclass
class _Table:
    #: (whole-text pattern, pattern inside a text or None, translation), longest first; a
    #: translation starts with a capital where a phrase written in lower case is matched so
    pats: list[tuple[re.Pattern[str], re.Pattern[str] | None, str]]
    exact: dict[str, str]
    cache: dict[str, tuple[str, bool]] = field(default_factory=dict)


def _known(lang: str) -> dict[str, str]:
    """The catalogue's ``known`` phrases (``{k}`` persons, ``{n}`` items, ``{name}`` a file)
    in the phrase table's placeholder names."""
    en, loc = catalogue()[DEFAULT_LANG].get("known", {}), catalogue()[lang].get("known", {})

    def ph(s: str) -> str:
        return s.replace("{k}", "{nk}").replace("{name}", "{id_name}")

    return {ph(en[k]).strip(): ph(v).strip() for k, v in loc.items() if k in en}


@functools.cache
def _phrases(lang: str) -> _Table:
    """The patterns (longest English first) and the exact table from every ``*_phrases``
    and ``*_labels`` section of ``lang`` and its ``known`` section."""
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
    for en, loc in _known(lang).items():
        table.setdefault(en, loc)
    exact = {en: loc for en, loc in table.items() if "{" not in en}
    pats = []
    for en, loc in table.items():
        rx = "".join(_piece(p) for p in re.split(r"(\{\w+\})", en) if p)
        if en[0].isalpha():  # either case for the first letter
            rx = f"[{en[0].upper()}{en[0].lower()}]" + rx[len(re.escape(en[0])):]
        if re.match(r"\w", en) and not en.startswith("{"):
            rx = r"(?<!\w)" + rx
        if re.search(r"\w$", en) and not en.endswith("}"):
            rx += r"(?!\w)"
        inner = rx
        if re.search(r"\{(?!n)\w+\}$", en):  # inside a text, it runs to the clause's end
            inner += r"(?=[;)]|[.,:](?:\s|$)|$)"
        starts_open = re.match(r"\{(?!n)\w+\}", en)  # would swallow what precedes it
        pats.append((len(en), re.compile(rx),
                     None if starts_open or en in whole else re.compile(inner),
                     ("\0" if en[0].islower() else "") + loc))
    pats.sort(key=lambda p: -p[0])
    return _Table([p[1:] for p in pats], exact)


#: what an ``{id}`` holds: names and lists of them, never a sentence's or clause's end
_ID = r"(?:[^.;]|\.(?=\S))+?"


def _is_num(name: str) -> bool:
    """``{n}``, ``{n2}``, ... are numbers; ``{name}`` or ``{net}`` are not."""
    return re.fullmatch(r"n\d*", name) is not None


def _piece(p: str) -> str:
    m = re.fullmatch(r"\{(\w+)\}", p)
    if not m:
        return re.escape(p)
    name = m[1]
    return f"(?P<{name}>{_NUM if _is_num(name) else _ID if name.startswith('id') else '.+?'})"


def _fill(m: re.Match[str], loc: str, lang: str, depth: int) -> tuple[str, bool]:
    """The translation with the match's placeholders filled; whether all of it is."""
    vals: dict[str, Any] = {}
    whole = True
    for k, v in m.groupdict().items():
        if k.startswith(("id", "q")):
            vals[k] = v
        elif _is_num(k):
            vals[k] = _num(v, lang)
        else:
            vals[k], ok = _cached(v, lang, depth + 1)
            whole = whole and (ok or not k.startswith("text"))
    out = loc.lstrip("\0").format(**vals)
    if loc.startswith("\0") and m[0][:1].isupper() and out[:1].islower():
        out = out[0].upper() + out[1:]
    return out, whole


def _num(v: str, lang: str) -> str:
    return dutch_separators(v) if lang == "nl" else v


def _cached(s: str, lang: str, depth: int) -> tuple[str, bool]:
    table = _phrases(lang)
    key = s if depth == 0 else f"{depth}\0{s}"
    if key not in table.cache:
        table.cache[key] = _translate(s, lang, depth) if depth <= 4 else (s, False)
    return table.cache[key]


def _translate(s: str, lang: str, depth: int) -> tuple[str, bool]:
    """(``s`` translated, whether nothing English was left)."""
    table = _phrases(lang)
    if s in table.exact:
        return table.exact[s], True
    for rx, _, loc in table.pats:
        m = rx.fullmatch(s)
        if m:
            out, whole = _fill(m, loc, lang, depth)
            if whole:  # else a placeholder took in more than it should: inside, below
                return out, True
    a, b = chr(0xE000 + 2 * depth), chr(0xE001 + 2 * depth)  # a replaced stretch
    done: list[str] = []
    whole = True

    def put(m: re.Match[str], loc: str) -> str:
        nonlocal whole
        out, ok = _fill(m, loc, lang, depth)
        whole = whole and ok
        done.append(out)
        return f"{a}{len(done) - 1}{b}"

    out = s
    for _, rx, loc in table.pats:
        if rx is not None:
            out = rx.sub(lambda m, loc=loc: put(m, loc), out)
    left = re.sub(f"{a}\\d+{b}", " ", out)
    out = re.sub(f"{a}(\\d+){b}", lambda m: done[int(m[1])], out)
    return out, whole and not _ENGLISH.search(left)


def tr(text: Any, lang: str = DEFAULT_LANG, *, keep: Mapping[str, str] | None = None) -> Any:
    """``text`` in ``lang`` (non-strings and English pass through unchanged). ``keep`` maps
    stretches that are not netto's to write (spec prose quoted in an estimator's text) to
    what to put in their place: they are neither translated nor counted as English."""
    if lang == DEFAULT_LANG or not isinstance(text, str) or not text.strip():
        return text
    back: list[str] = []
    if keep:
        for en in sorted(keep, key=len, reverse=True):
            if en and en in text:
                back.append(keep[en])
                text = text.replace(en, f"\uf000{len(back) - 1}\uf001")
    s = text.strip()
    out, whole = _cached(s, lang, 0)
    if not whole:
        _MISSES.setdefault(lang, set()).add(s)
    out = text.replace(s, out)
    return re.sub("\uf000(\\d+)\uf001", lambda m: back[int(m[1])], out)


def exact(text: str, lang: str = DEFAULT_LANG) -> str | None:
    """``text`` translated as a whole by a phrase without placeholders, else None (a name:
    a column, a category, a spec's own wording; not recorded as a miss)."""
    if lang == DEFAULT_LANG:
        return text
    return _phrases(lang).exact.get(text.strip())


def misses(lang: str = "nl", clear: bool = False) -> set[str]:
    """Texts :func:`tr` did not fully translate since the last ``clear``."""
    out = set(_MISSES.get(lang, set()))
    if clear:
        _MISSES.pop(lang, None)
    return out
