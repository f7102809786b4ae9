"""Exports for ministry documents: ``reports/summary.xlsx`` and ``reports/<measure>/report.docx``.

Both are rendered ONLY from the gated summary dicts (:func:`causal.report.writer.measure_summary`
returns what the output gate let through), so they show nothing the gate withheld and
``causal audit`` re-checks them like every other file. Text cells are written as strings
and guarded against formula injection (:func:`causal.report.textsafe.cell`); numbers as
numbers with a display format. Labels come from the message catalogue in the report's
language.

Built on xlsxwriter (formatted workbook) and python-docx (Word document); hand-written is only
the layout.
"""
from __future__ import annotations

import functools
import io
import re
from pathlib import Path
from typing import Any

from causal import messages as msg
from causal.report.textsafe import cell


def _t(key: str, lang: str, **kw: Any) -> str:
    return msg.t(f"report.{key}", lang, **kw)


def _row_cells(e: dict[str, Any], lang: str) -> list[Any]:
    return [e.get("name"), e.get("estimand"), e.get("gross"), e.get("counterfactual"),
            e.get("net"), e.get("ci_low"), e.get("ci_high"),
            msg.deadweight_text(e, lang, short=False) if e.get("deadweight_status") ==
            "estimated" else msg.deadweight_text(e, lang), e.get("n_treated"),
            e.get("n_control"), e.get("truth")]


def _headers(lang: str) -> list[str]:
    x = functools.partial(_x, lang=lang)
    return [_t("estimator", lang), _t("estimand", lang), _t("bruto", lang),
            _t("counterfactual", lang), _t("netto", lang), x("low"), x("high"),
            _t("deadweight", lang), x("n_treated"), x("n_control"), _t("truth", lang)]


def _x(key: str, lang: str) -> str:
    return msg.t(f"export.{key}", lang)


def _sheet_names(measures: list[str]) -> dict[str, str]:
    """Excel sheet names: at most 31 characters, unique, no []:*?/\\."""
    out, used = {}, {"portfolio"}
    for m in measures:
        base = re.sub(r"[\[\]:*?/\\]", "_", m)[:31]
        name, i = base, 2
        while name.lower() in used:
            suffix = f"~{i}"
            name, i = base[:31 - len(suffix)] + suffix, i + 1
        used.add(name.lower())
        out[m] = name
    return out


def summary_xlsx(summaries: dict[str, dict[str, Any]], lang: str = "en",
                 rows: list[dict[str, Any]] | None = None) -> bytes:
    """The workbook: a portfolio sheet (one row per measure x estimator, the published bruto
    with its citation) and one sheet per measure (sentence, decomposition table, published
    figures with citations, disclosure note). ``summaries`` in ``lang`` already
    (:func:`causal.report.localise.localise` of each), ``rows`` their portfolio rows if the
    caller has them."""
    import xlsxwriter

    from causal.costs import portfolio_text
    from causal.report.context import fmt_reported, page_context
    from causal.report.portfolio import portfolio_rows

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    wb.set_properties({"title": f"netto: {_t('portfolio_title', lang)}", "created": None})
    head = wb.add_format({"bold": True, "bg_color": "#F2F2F2", "bottom": 1, "text_wrap": True,
                          "valign": "top"})
    num1 = wb.add_format({"num_format": "0.0", "valign": "top"})
    intf = wb.add_format({"num_format": "#,##0", "valign": "top"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    naive = wb.add_format({"italic": True, "font_color": "#666666", "valign": "top"})
    title = wb.add_format({"bold": True, "font_size": 13})
    pref = wb.add_format({"bold": True, "valign": "top"})

    def put(ws, r: int, c: int, v: Any, fmt=None) -> None:
        if v is None or v == "":
            ws.write_blank(r, c, None, fmt)
        elif isinstance(v, bool):
            ws.write_boolean(r, c, v, fmt)
        elif isinstance(v, (int, float)):
            ws.write_number(r, c, v, fmt or (intf if isinstance(v, int) else num1))
        else:
            ws.write_string(r, c, str(cell(str(v))), fmt or wrap)

    rows = portfolio_rows(summaries) if rows is None else rows
    local = page_context(None, lang)["local"]
    ws = wb.add_worksheet("portfolio")
    cols = [(_t("measure", lang), "title", 34), (_t("estimator", lang), "estimator", 26),
            (_t("estimand", lang), "estimand", 10),
            (_t("published", lang), "reported_gross", 11),
            (_x("citation", lang), "reported_citation", 40),
            (_t("bruto", lang), "gross", 9), (_t("netto", lang), "net", 9),
            (_x("low", lang), "ci_low", 9), (_x("high", lang), "ci_high", 9),
            (_t("deadweight", lang), "deadweight_text", 22),
            (_x("n_treated", lang), "n_treated", 11), (_x("n_control", lang), "n_control", 11),
            (_t("cost_per_net", lang), "cost_text", 24),
            (_t("sentence_head", lang), "sentence", 70)]
    for j, (h, _, w) in enumerate(cols):
        ws.write_string(0, j, h, head)
        ws.set_column(j, j, w)
    for i, r in enumerate(rows, start=1):
        r = {**r, "deadweight_text": msg.deadweight_text(r, lang, short=True),
             "cost_text": portfolio_text(r.get("cost"), lang),
             "sentence": (r.get("sentences") or {}).get(lang) or r.get("sentence_en")}
        if r.get("net") is None and r.get("reason"):  # the reason in the report's language
            r["sentence"] = msg.t("not_identified", lang,
                                  reason=local(r, "reason").rstrip(".")) + "."
        fmt = naive if r["naive"] else pref if r["preferred"] else None
        for j, (_, key, _) in enumerate(cols):
            v = r.get(key)
            put(ws, i, j, v, fmt if isinstance(v, str) or v is None else None)
    ws.freeze_panes(1, 1)
    ws.autofilter(0, 0, len(rows), len(cols) - 1)

    names = _sheet_names(sorted(summaries))
    for m in sorted(summaries):
        s = summaries[m]
        ws = wb.add_worksheet(names[m])
        ws.set_column(0, 0, 30)
        ws.set_column(1, 10, 13)
        ws.write_string(0, 0, str(cell(s["title"])), title)
        src = s.get("source") or {}
        put(ws, 1, 0, f"{_t('source', lang)}: {src.get('report', '')}"
            + (f", {src['section']}" if src.get("section") else ""))
        texts = [((e.get("sentences") or {}).get(lang) or e.get("sentence") or "",
                  bool(e.get("preferred"))) for e in s["estimates"]
                 if e.get("net") is not None and e["estimator"] != "naive"]
        if s.get("identification"):
            texts.append((f"{_t('not_identified_head', lang)}: "
                          f"{local(s, 'identification')}", True))
        if s.get("settle"):
            st = s["settle"]
            texts.append((f"{msg.t('settle.head', lang)}: {local(st, 'design')} "
                          f"{msg.t('settle.data', lang)}: {local(st, 'data')}", False))
        r = 3
        for text, bold in texts:
            ws.merge_range(r, 0, r, 10, str(cell(text)),
                           wb.add_format({"text_wrap": True, "valign": "top", "bold": bold}))
            ws.set_row(r, 45 if len(text) < 400 else 90)
            r += 1
        r += 1
        for j, h in enumerate(_headers(lang)):
            ws.write_string(r, j, h, head)
        for e in s["estimates"]:
            r += 1
            for j, v in enumerate(_row_cells(e, lang)):
                put(ws, r, j, v, naive if e["estimator"] == "naive" and isinstance(v, str)
                    else None)
        r += 2
        ws.write_string(r, 0, _t("published_bruto", lang), head)
        ws.write_string(r, 1, _x("citation", lang), head)
        for rep in s.get("reported") or []:
            r += 1
            put(ws, r, 0, f"{rep['label']}: {fmt_reported(rep, lang)}")
            put(ws, r, 1, rep.get("citation"))
            if rep.get("role", "outcome") == "outcome" and not rep.get("comparable"):
                put(ws, r, 2, f"{_t('comparable_no', lang)}: "
                    + (rep.get("context_reason") or _t("not_declared", lang)))
        r += 2
        d = s.get("disclosure") or {}
        put(ws, r, 0, _t("disclosure", lang, k=d.get("min_cell", 10)))
    wb.close()
    return buf.getvalue()


def report_docx(summary: dict[str, Any], outdir: Path, lang: str = "en",
                ctx: dict[str, Any] | None = None) -> bytes:
    """A Word document of one measure: title, source, the sentences, the decomposition table,
    footnotes, the figures already written to ``outdir`` (gated PNGs), disclosure note."""
    import docx
    from docx.shared import Inches, Pt

    from causal.costs import sentence as cost_sentence
    from causal.power import settling_sentence
    from causal.report.context import fmt_reported, page_context, withheld_text

    ctx = page_context(summary, lang) if ctx is None else ctx  # the pages' context, if given
    summary, local = ctx["s"], ctx["local"]
    d = docx.Document()
    d.core_properties.title = summary["title"]
    d.core_properties.author = "netto"
    d.add_heading(summary["title"], level=1)
    src = summary.get("source") or {}
    d.add_paragraph(f"{_t('source', lang)}: {src.get('report', '')}"
                    + (f", {src['section']}" if src.get("section") else "") + ".")
    if summary.get("identification"):
        d.add_paragraph(f"{_t('not_identified_head', lang)}: {local(summary, 'identification')}")
    st = summary.get("settle")
    if st:
        size = f" {msg.t('settle.size_head', lang)}: {settling_sentence(st['size'], lang)} " \
               f"({local(st, 'basis')})." if st.get("size") else ""
        d.add_paragraph(f"{msg.t('settle.head', lang)}: {local(st, 'design')} "
                        f"{msg.t('settle.data', lang)}: {local(st, 'data')}{size}")
    shown = [e for e in summary["estimates"] if e.get("net") is not None
             and e["estimator"] != "naive"]
    if shown:
        d.add_heading(_t("sentence_head", lang), level=2)
        for e in sorted(shown, key=lambda e: not e.get("preferred")):
            p = d.add_paragraph(style="List Bullet")
            run = p.add_run((e.get("sentences") or {}).get(lang) or e.get("sentence", ""))
            run.bold = bool(e.get("preferred"))
            p.add_run(f" ({e['name']})").italic = True
        costs = [(e, (e.get("diagnostics") or {}).get("cost_per_outcome"))
                 for e in sorted(summary["estimates"], key=lambda e: not e.get("preferred"))]
        costs = [(e, c) for e, c in costs if isinstance(c, dict)]
        for e, c in costs:
            p = d.add_paragraph(style="List Bullet")
            p.add_run(cost_sentence(c, lang)).bold = bool(e.get("preferred"))
            p.add_run(f" ({e['name']})").italic = True
        if costs and costs[0][1].get("citation"):
            d.add_paragraph(str(costs[0][1]["citation"])).runs[0].font.size = Pt(8)
    d.add_heading(_t("decomposition", lang), level=2)
    heads = _headers(lang)
    tab = d.add_table(rows=1, cols=len(heads))
    tab.style = "Light Grid Accent 1"
    for j, h in enumerate(heads):
        tab.rows[0].cells[j].text = h
    for e in summary["estimates"]:
        cells = tab.add_row().cells
        for j, v in enumerate(_row_cells(e, lang)):
            cells[j].text = "-" if v is None else (msg.num(v, 1, lang) if isinstance(v, float)
                                                   else str(v))
            if e["estimator"] == "naive":
                for par in cells[j].paragraphs:
                    for run in par.runs:
                        run.italic = True
    _small(tab)
    for i, key in enumerate(("fn_deadweight", "fn_counterfactual", "fn_not_comparable",
                             "fn_naive"), start=1):
        p = d.add_paragraph(f"{i}. {_t(key, lang)}")
        p.runs[0].font.size = Pt(8)
    for rep in summary.get("reported") or []:
        if rep.get("role", "outcome") != "outcome":
            continue
        why = "" if rep.get("comparable") else (
            f" ({_t('comparable_no', lang)}: "
            f"{rep.get('context_reason') or _t('not_declared', lang)})")
        d.add_paragraph(f"{_t('published_bruto', lang)}: {rep['label']}: "
                        f"{fmt_reported(rep, lang)}{why} [{rep['citation']}]")
    _docx_deadweight_check(d, summary.get("deadweight_check"), lang)
    pngs = [f for f in summary.get("figures") or [] if f.endswith(".png")]
    for e in summary["estimates"]:
        pngs += [f for f in (e.get("diagnostics") or {}).get("files", []) if f.endswith(".png")]
    for f in pngs:
        if (Path(outdir) / f).is_file():
            d.add_picture(str(Path(outdir) / f), width=Inches(6.3))
    dis = summary.get("disclosure") or {}
    d.add_paragraph(_t("disclosure", lang, k=dis.get("min_cell", 10)) + " "
                    + (_t("disclosure_none", lang) if not dis.get("suppressed") else
                       _t("disclosure_suppressed", lang, items=msg.known(
                           withheld_text(dis["suppressed"]), lang))))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _docx_deadweight_check(d: Any, dc: dict[str, Any] | None, lang: str) -> None:
    """The deadweight check (causal.deadweight) as a heading, a paragraph and a table."""
    if not dc or not dc.get("comparisons"):
        return
    from causal.report.context import page_context

    ctx = page_context(None, lang)
    pct, verdict = ctx["pct"], ctx["verdict"]

    def x(key: str, **kw: Any) -> str:
        return msg.t(f"deadweight_check.{key}", lang, **kw)

    d.add_heading(x("head"), level=2)
    d.add_paragraph(f"{x('self_reported')}: {dc['label']}: {pct(dc['self_reported'])} "
                    f"[{dc['citation']}]. {x('intro')}")
    heads = [x("estimator"), x("displacement"), x("pivotal"), x("interval"), x("self_report")]
    tab = d.add_table(rows=1, cols=len(heads))
    tab.style = "Light Grid Accent 1"
    for j, h in enumerate(heads):
        tab.rows[0].cells[j].text = h
    to = msg.t("report.to", lang)
    for r in dc["comparisons"]:
        iv = r.get("interval")
        vals = [str(r["estimator"]), pct(r["displacement"], 0), pct(r["estimated_pivotal"]),
                f"{pct(iv[0])} {to} {pct(iv[1])}" if iv else "-", verdict(r)]
        for c, v in zip(tab.add_row().cells, vals):
            c.text = v
    _small(tab)


def _small(tab: Any) -> None:
    """8-point text in every cell of a Word table."""
    from docx.shared import Pt

    for row in tab.rows:
        for c in row.cells:
            for par in c.paragraphs:
                for run in par.runs:
                    run.font.size = Pt(8)
