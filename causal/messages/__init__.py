"""The message catalogue: every sentence and label a report reader sees, in English and Dutch.

The wording lives in ``catalogue.yaml`` beside this module (one file, keyed by language and,
for the headline sentence, by estimand), so a translator edits one place and no sentence is
scattered through the code. This module fills the catalogue's placeholders and formats
numbers the way each language writes them (Dutch: decimal comma, thousands dot).

Written by hand: gettext/babel would add a compile step and .po files for some 150 strings
whose selection depends on the estimand and the interval, which they do not model; the
formatting rules needed (decimal comma, "EUR 1,250") are a few lines.

The language is chosen by :func:`resolve_lang`: an explicit ``--lang``, else ``NETTO_LANG``,
else the spec's ``report.lang``, else English.
"""
from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

LANGS = ("en", "nl")
DEFAULT_LANG = "en"


#: libyaml's safe loader where PyYAML was built with it (same documents, about 40x faster
#: than the pure-Python one: 4 against 190 ms for the catalogue, read at every run)
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def catalogue() -> dict[str, Any]:
    """The catalogue, read once (safe YAML): ``catalogue.yaml`` and every other ``*.yaml``
    beside it (one file per area: figures, estimators' text), merged per language. A section
    defined in two files is an error, so two areas never silently overwrite each other."""
    here = Path(__file__).parent
    files = [here / "catalogue.yaml"] + sorted(p for p in here.glob("*.yaml")
                                               if p.name != "catalogue.yaml")
    out: dict[str, Any] = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            part = yaml.load(f, Loader=_SAFE) or {}  # noqa: S506 - a safe loader
        for lang, sections in part.items():
            into = out.setdefault(lang, {})
            clash = set(into) & set(sections)
            if clash:
                raise RuntimeError(f"{path.name}: sections {sorted(clash)} already defined")
            into.update(sections)
    return out


def resolve_lang(explicit: str | None = None, spec_lang: str | None = None) -> str:
    """``--lang`` beats ``NETTO_LANG`` beats the spec's language beats English."""
    from causal.errors import NettoError

    for cand, where in ((explicit, "--lang"), (os.environ.get("NETTO_LANG"), "NETTO_LANG"),
                        (spec_lang, "the spec's report.lang")):
        if cand:
            c = cand.strip().lower()
            if c not in LANGS:
                raise NettoError(f"{where}: expected one of {', '.join(LANGS)}, got {cand!r}")
            return c
    return DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, **kw: Any) -> str:
    """The catalogue text at a dotted ``key`` in ``lang``, placeholders filled from ``kw``."""
    node: Any = catalogue()[lang if lang in LANGS else DEFAULT_LANG]
    for part in key.split("."):
        node = node[part]
    return node.format(**kw) if kw else node


def has(key: str, lang: str = DEFAULT_LANG) -> bool:
    node: Any = catalogue()[lang]
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, str)


def known(text: Any, lang: str = DEFAULT_LANG) -> Any:
    """Free text with netto's own English phrases (the catalogue's ``known`` section: the
    output gate's reasons for what it withheld) replaced by their ``lang`` wording. Text
    written elsewhere (a spec, an estimator's warning) is left as it is."""
    if lang == DEFAULT_LANG or not isinstance(text, str) or not text:
        return text
    for rx, key in _known_patterns():
        text = rx.sub(lambda m, key=key: t(f"known.{key}", lang, **m.groupdict()), text)
    return text


@functools.cache
def _known_patterns() -> list[tuple[re.Pattern[str], str]]:
    """The English ``known`` phrases as patterns (``{k}`` and ``{n}`` digits, ``{name}`` a
    word), longest first so a phrase is replaced before a shorter one inside it."""
    out = []
    for key, phrase in catalogue()[DEFAULT_LANG]["known"].items():
        rx = re.escape(phrase)
        for ph, sub in (("k", r"\d+"), ("n", r"\d+"), ("name", r"\S+")):
            rx = rx.replace(re.escape("{" + ph + "}"), f"(?P<{ph}>{sub})")
        out.append((len(phrase), re.compile(rx), key))
    return [(rx, key) for _, rx, key in sorted(out, key=lambda x: -x[0])]


# -- numbers -------------------------------------------------------------------------------
def num(x: float, nd: int = 1, lang: str = DEFAULT_LANG) -> str:
    """A number with ``nd`` decimals and thousands separators, written as ``lang`` writes it
    (en 1,250.5; nl 1.250,5). A minus sign, never a hyphen-like dash, for negatives."""
    s = f"{x:,.{nd}f}"
    if s.startswith("-") and float(s.replace(",", "")) == 0:
        s = s[1:]  # no "-0.0"
    if lang == "nl":
        s = dutch_separators(s)
    return s


_SWAP = str.maketrans(",.", ".,")


def dutch_separators(s: str) -> str:
    """A number written the English way (1,250.5) written the Dutch way (1.250,5)."""
    return s.translate(_SWAP)


def _nd(x: float) -> int:
    """Decimals that keep about three significant digits for amounts in a unit."""
    a = abs(x)
    return 0 if a >= 100 else 1 if a >= 10 else 2


def amount(x: float, unit: str, lang: str = DEFAULT_LANG, nd: int | None = None) -> str:
    """A value on the outcome's own scale: ``5.2 points`` for percentage points, ``EUR 1,250
    per year`` when the unit starts with a currency, ``6.35 months`` otherwise."""
    if unit == "pp":
        d = 1 if nd is None else nd
        return f"{num(x, d, lang)} {t('unit.pp', lang)}"
    d = _nd(x) if nd is None else nd
    for cur in ("EUR", "€"):
        if unit.startswith(cur):
            rest = unit[len(cur):].strip()
            sign = "-" if x < 0 and num(abs(x), d, lang) != num(0, d, lang) else ""
            return f"{sign}EUR {num(abs(x), d, lang)}" + (f" {rest}" if rest else "")
    return f"{num(x, d, lang)} {unit}".rstrip()


def level(x: float, unit: str, lang: str = DEFAULT_LANG) -> str:
    """A level (gross, counterfactual) rather than a difference: ``54%`` for a share."""
    if unit == "pp":
        return f"{num(x, 0 if abs(x) >= 10 else 1, lang)}%"
    return amount(x, unit, lang)


def interval_name(interval: str | None, lang: str = DEFAULT_LANG) -> str:
    kind = "credible" if interval and "credible" in interval else "confidence"
    return t(f"interval.{kind}", lang)


# -- the headline sentence -----------------------------------------------------------------
def spans_zero(lo: float | None, hi: float | None) -> bool:
    return lo is not None and hi is not None and lo <= 0 <= hi


def _label(e: Mapping[str, Any], lang: str) -> str:
    if lang == "nl" and e.get("outcome_label_nl"):
        return e["outcome_label_nl"]
    lab = e.get("outcome_label") or "the outcome"
    return lab if lang == "en" else f"de uitkomst '{lab}'"


def sentence(e: Mapping[str, Any], lang: str = DEFAULT_LANG) -> str:
    """One plain sentence a policy maker can quote, for the estimand ``e['estimand']``.

    ``e`` holds the decomposition of :meth:`causal.result.Estimate.decomposition` plus
    ``estimand``, ``net``, ``ci_low``, ``ci_high``, ``unit``, ``interval``, ``outcome_label``
    (and ``outcome_label_nl``), ``reason``. The gross and counterfactual clauses appear only
    where the estimand has a group whose gross outcome is meant (ATT: participants, ITT: those
    invited, LATE: compliers, RD: those at the threshold); an interval that spans zero is
    said in words; a Bayesian interval is called a credible interval.
    """
    net = e.get("net")
    if net is None:
        why = known(e.get("reason") or t("report.not_identified", lang), lang)
        return t("not_identified", lang, reason=why.rstrip(".")) + "."
    estimand = e.get("estimand") or "ATT"
    unit = e.get("unit") or "pp"
    per = None
    if estimand == "dose_response" and " per " in unit:
        unit, per = unit.split(" per ", 1)
    key = f"estimand.{estimand}" if has(f"estimand.{estimand}.population", lang) else \
        "estimand.ATT"
    lo, hi = e.get("ci_low"), e.get("ci_high")
    ci = ""
    if lo is not None and hi is not None:
        to = "to" if lang == "en" else "tot"
        ci = f"{interval_name(e.get('interval'), lang)} {num(lo, _dec(lo, unit), lang)} {to} " \
             f"{num(hi, _dec(hi, unit), lang)}"
    fill = dict(net=amount(net, unit, lang), abs_net=amount(abs(net), unit, lang), ci=ci,
                label=_label(e, lang), per=per or "unit",
                what=t("share_who" if unit == "pp" else "mean_of", lang, label=_label(e, lang)))
    if estimand == "naive":
        text = t("estimand.naive.any", lang, **fill)
        return _finish(text, ci)
    if lo is None or hi is None:  # no interval: the effect is not told apart from zero
        fill["ci"] = ci = t("deadweight.short.no_interval", lang)
    direction = "zero" if lo is None or hi is None or spans_zero(lo, hi) else (
        "up" if net >= 0 else "down")
    parts = []
    gross = e.get("gross")
    if has(f"{key}.gross", lang) and gross is not None:
        g = level(gross, unit, lang)
        parts.append(t(f"{key}.gross" if unit == "pp" else f"{key}.gross_mean", lang,
                       gross=g, label=_label(e, lang)))
        cf = e.get("counterfactual")
        if cf is not None and direction == "up":
            parts.append(t(f"{key}.counterfactual", lang, cf=amount(cf, unit, lang, nd=0 if
                                                                      unit == "pp" else None)))
    parts.append(t(f"{key}.{direction}", lang, **fill))
    return _finish("; ".join(parts), ci)


def _dec(x: float, unit: str) -> int:
    return 1 if unit == "pp" else _nd(x)


def _finish(text: str, ci: str) -> str:
    text = text.replace(" ()", "").replace("(, ", "(").replace(", ()", "")
    return text[0].upper() + text[1:] + "."


def deadweight_text(d: Mapping[str, Any], lang: str = DEFAULT_LANG, short: bool = False) -> str:
    """Deadweight as a reader sees it: ``83% (71% to 95%)``, or the words that replace the
    number (:meth:`causal.result.Estimate.decomposition` sets ``deadweight_status``)."""
    status = d.get("deadweight_status")
    if status == "estimated" and d.get("deadweight") is not None:
        pct = functools.partial(_pct, lang=lang)
        if short:
            return pct(d["deadweight"])
        return t("deadweight.estimated", lang, dw=pct(d["deadweight"]),
                 lo=pct(d.get("deadweight_low")), hi=pct(d.get("deadweight_high")))
    if not status or status == "estimated":
        return "-"
    return t(f"deadweight.short.{status}" if short else f"deadweight.{status}", lang)


def _pct(x: float | None, lang: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{num(100 * x, 0, lang)}%"


def both(e: Mapping[str, Any]) -> dict[str, str]:
    """The sentence in every catalogue language."""
    return {lang: sentence(e, lang) for lang in LANGS}
