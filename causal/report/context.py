"""What every report template gets: the gated summary, the language, the catalogue lookup
``t`` and the number, percent, cost, design and verdict wording in that language
(causal/messages/catalogue.yaml). One place, so the measure pages, the portfolio and the
exports write a figure the same way.
"""
from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

_TWIN = re.compile(r"^synthetic twin of (\S+) \(seed (\w+)\)$")


def wbr(name: Any) -> Markup:
    """An identifier (``propensity_matching``) that may break after its underscores in a
    narrow table cell instead of mid-word."""
    return Markup("_<wbr>".join(escape(str(name)).split("_")))


def page_context(summary: dict[str, Any] | None, lang: str) -> dict[str, Any]:
    """What every template gets: the summary, the language, the catalogue lookup ``t`` and
    number formatting in that language. ``summary`` is shown with its estimator-written
    text in ``lang`` (:func:`causal.report.localise.localise`)."""
    from causal import messages as msg
    from causal.costs import portfolio_text
    from causal.costs import sentence as cost_sentence
    from causal.power import settling_sentence
    from causal.report.localise import localise

    summary = localise(summary, lang)

    def fmt(x: Any, nd: int = 1, suffix: str = "") -> str:
        if x is None:
            return "-"
        if isinstance(x, float):
            return msg.num(x, nd, lang) + suffix
        return f"{x}{suffix}"

    def assumes(d: dict) -> str:
        """What the interval assumes, in the report's language when the catalogue has it."""
        d = d or {}
        key, a = d.get("assumes_key"), d.get("assumes")
        if key and msg.has(f"assumes.{key}", lang):
            return msg.t(f"assumes.{key}", lang)
        if not a:
            return ""
        if isinstance(a, dict):
            return "; ".join(f"{k}: {v}" for k, v in a.items())
        if isinstance(a, (list, tuple)):
            return "; ".join(map(str, a))
        return str(a)

    def data_source(src: str) -> str:
        """The twin's source line (causal.pipeline writes it in English) in ``lang``."""
        m = _TWIN.match(str(src or ""))
        return msg.t("report.twin", lang, measure=m[1], seed=m[2]) if m else str(src or "-")

    def adjustment(s: dict) -> str:
        """The adjustment note; for a not-identified measure, a pointer to the reason above
        instead of repeating it."""
        a, why = s.get("adjustment") or "", s.get("identification")
        if why and (not a or why in a):
            return msg.t("report.adjustment_not_identified", lang)
        return a or "-"

    def local(d: dict | None, key: str) -> str:
        """Spec prose ``d[key]`` in the report's language: ``d[key + '_nl']`` on a Dutch
        page when the spec gives it, else the spec's own (English) text."""
        d = d or {}
        return (d.get(f"{key}_nl") if lang == "nl" else None) or msg.known(d.get(key) or "",
                                                                            lang)

    return {"s": summary, "lang": lang, "fmt": fmt, "data_source": data_source, "wbr": wbr,
            "local": local,
            "adjustment": adjustment,
            "t": lambda key, **kw: msg.t(key, lang, **kw),
            "dw": lambda e, short=True: msg.deadweight_text(e, lang, short=short),
            "sentence": lambda e: (e.get("sentences") or {}).get(lang) or e.get("sentence", ""),
            "fmt_reported": lambda r: fmt_reported(r, lang), "assumes": assumes,
            "is_naive": lambda e: str(e.get("estimator", "")).split(" ")[0] == "naive",
            "cost_text": lambda c: cost_sentence(c, lang) if isinstance(c, dict) else str(c),
            "cost_cell": lambda c: portfolio_text(c, lang) or "-",
            "pct": lambda x, nd=1: "-" if x is None else f"{msg.num(100 * x, nd, lang)}%",
            "design": lambda d: msg.t(f"design.{d}", lang) if msg.has(f"design.{d}", lang)
            else str(d),
            "verdict": lambda r: msg.t(f"deadweight_check.verdict.{r['verdict_key']}", lang)
            if r.get("verdict_key") else r.get("verdict", ""),
            "settle_size": lambda st: settling_sentence(st["size"], lang) if st.get("size")
            else "",
            "why": lambda r: r.get("context_reason") or (
                msg.t("report.not_declared", lang) if r.get("role", "outcome") == "outcome"
                else r.get("comparable_reason") or ""),
            "known": lambda text: msg.known(text, lang),
            "withheld": lambda items: msg.known(withheld_text(items), lang)}


def withheld_text(items: list) -> str:
    """What the gate withheld, where and why (never the value)."""
    return "; ".join(f"{x['where']} ({x['reason']})" if isinstance(x, dict) else str(x)
                     for x in items)



def fmt_reported(r: dict[str, Any], lang: str = "en") -> str:
    """A published figure in its unit: 89%, 155,532, EUR 195,404,305 (nl: 155.532)."""
    from causal.messages import num

    v, unit = r["value"], r.get("unit", "other")
    nd = 0 if float(v).is_integer() else 1 if float(v * 10).is_integer() else 2
    if unit == "percent":
        return f"{num(v, nd, lang)}%"
    if unit == "pp":
        return f"{num(v, nd, lang)} pp"
    if unit == "euro":
        return f"EUR {num(v, 0, lang)}"
    if unit == "count":
        return num(v, 0, lang)
    return num(v, nd, lang)
