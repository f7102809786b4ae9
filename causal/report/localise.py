"""A gated summary with the text netto's estimators wrote in the report's language.

Estimators write English: method, standard-error type, warnings, what an interval assumes,
sensitivity-bound and refuter readings, the adjustment note, the data notes, the design
warnings, the output gate's reasons (causal/result.py, causal/sensitivity). Every page and
export of a report (report.md, index.html, report.docx, summary.xlsx, the portfolio) is
rendered from :func:`localise` of the summary, so the translation happens in this one place,
through the phrase table of :mod:`causal.messages.translate`. summary.json and summary.csv
keep the English the estimators wrote.

Spec prose quoted in an estimator's text (the spec's reason a measure is not identified, its
reason for the adjustment set) is not translated: the spec's own Dutch
(``identification.reason_nl``, ``adjustment_reason_nl``) takes its place where the spec gives
one, else it stays as written.
"""
from __future__ import annotations

import copy
from typing import Any

from causal.messages import DEFAULT_LANG, has
from causal.messages.translate import tr

#: estimate fields (dotted paths into the row) that hold estimator-written text
ESTIMATE_TEXT = ("method", "se_type", "reason", "warnings", "diagnostics.assumes",
                 "diagnostics.sensitivity_bounds.reading", "diagnostics.e_value_reading")


def localise(summary: dict[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """A copy of ``summary`` whose estimator-written text is in ``lang`` (the summary
    itself when ``lang`` is English)."""
    if summary is None or lang == DEFAULT_LANG:
        return summary
    s = copy.deepcopy(summary)
    keep = spec_prose(s, lang)

    def t(x: Any) -> Any:
        if isinstance(x, list):
            return [t(v) for v in x]
        if isinstance(x, dict):
            return {k: t(v) for k, v in x.items()}
        return tr(x, lang, keep=keep)

    for key in ("adjustment", "notes"):
        if s.get(key):
            s[key] = t(s[key])
    for w in s.get("warnings") or []:
        w["message"] = t(w.get("message"))
    dis = s.get("disclosure") or {}
    if dis.get("suppressed"):
        dis["suppressed"] = [{**x, "where": t(x.get("where")), "reason": t(x.get("reason"))}
                             if isinstance(x, dict) else t(x) for x in dis["suppressed"]]
    for e in s.get("estimates") or []:
        if e.get("label"):  # "did (difference in differences)": the name stays, not its label
            e["label"] = tr(e["label"], lang, keep=keep)
            e["name"] = f"{e['estimator']} ({e['label']})"
        d = e.get("diagnostics") or {}
        for path in ESTIMATE_TEXT:
            *up, last = path.split(".")
            node: Any = e
            for p in up:
                node = node.get(p) if isinstance(node, dict) else None
            if not isinstance(node, dict) or not node.get(last):
                continue
            if last == "assumes" and has(f"assumes.{node.get('assumes_key')}", lang):
                continue  # the catalogue's own wording is shown instead
            node[last] = t(node[last])
        for r in d.get("refutations") or []:
            for key in ("name", "reading"):
                if r.get(key):
                    r[key] = t(r[key])
    if s.get("identification"):  # so that the pages can still tell it apart
        s["identification"] = keep[s["identification"]]
    return s


def spec_prose(summary: dict[str, Any], lang: str) -> dict[str, str]:
    """Spec prose that estimators quote, with what to show instead on a ``lang`` page."""
    pairs = [(summary.get(key), summary.get(f"{key}_{lang}"))
             for key in ("identification", "adjustment_reason")]
    pairs += [(e.get("reason"), (e.get("diagnostics") or {}).get(f"reason_{lang}"))
              for e in summary.get("estimates") or []  # an estimator option's reason
              if (e.get("diagnostics") or {}).get(f"reason_{lang}")]
    out: dict[str, str] = {}
    for why, loc in pairs:
        if why:
            loc = loc or why
            out.setdefault(why, loc)
            out.setdefault(why.strip().rstrip("."), loc.strip().rstrip("."))
    return out
