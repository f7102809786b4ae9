"""Write one measure's report folder: summary.json, report.md, index.html and figures.

Writes are atomic (temp file + rename), so an interrupted run never leaves a half-written
report that looks complete; summary.json is written last and is the completeness marker. A
report made from different data is not overwritten silently: the old folder is moved aside
and the caller is told.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from causal import __version__
from causal.report import figures as figs
from causal.report.context import page_context
from causal.report.textsafe import md as md_escape
from causal.result import Estimate, _jsonable, _r, headline_fields
from causal.sensitivity import design_warnings, measure_warnings
from causal.spec import headline_reported, not_comparable_reason

_ENV = Environment(loader=PackageLoader("causal.report", "templates"),
                   autoescape=select_autoescape(["html", "html.j2"], default=False), trim_blocks=True,
                   lstrip_blocks=True, keep_trailing_newline=True)
#: Markdown reports: every value printed is escaped (HTML and Markdown syntax in spec text or
#: data values reads as written, issue 15 item 8).
_MD_ENV = Environment(loader=PackageLoader("causal.report", "templates"), autoescape=False,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=lambda v: md_escape(v) if isinstance(v, str) else v)


def atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_figures(estimates: list[Estimate], outdir: Path, rules: Any = None,
                   lang: str = "en", kept_names: Any = ()) -> None:
    """Render each estimate's figures and files through the output gate (aggregates with
    their counts; causal/report/gate_figures.py), each with its manifest, the figures' texts
    in ``lang`` (``kept_names``: the study's names, not translated), and record the
    file names in ``diagnostics['files']`` and what was left out in the private
    ``diagnostics['_gate']['left_out']``. Clears the callables afterwards so the Estimate can
    cross process boundaries."""
    from causal.report.figure_lang import Localiser
    from causal.report.gate import PRIVATE, Gate, Rules
    from causal.report.gate_figures import save_figure, save_file

    outdir.mkdir(parents=True, exist_ok=True)
    say = Localiser(lang, kept_names) if lang != "en" else ()  # one per study's figures
    for e in estimates:
        gate = Gate(Rules.of(rules))
        names: list[str] = []
        priv = e.diagnostics.get(PRIVATE) or {}
        why = gate.why_not({"n_treated": e.n_treated, "n_control": e.n_control},
                           priv.get("counts"))
        if why and (e.figures or e.files):  # the estimate is withheld: so are its figures
            gate.hide(f"figures and files of {e.name}", why)
            e.figures, e.files = {}, {}
        for name, item in sorted(e.figures.items()):
            stem = f"{e.estimator}_{e.label or e.estimand}_{name}".replace(" ", "_").replace("/", "-")
            names += save_figure(gate, item, outdir, stem, lang=lang, names=say)
        for fname, item in sorted(e.files.items()):
            names += save_file(gate, item, outdir, fname)
        if names:
            e.diagnostics["files"] = [n for n in names if not n.endswith(".manifest.json")]
        if gate.suppressed:
            priv = e.diagnostics.setdefault(PRIVATE, {})
            priv["left_out"] = priv.get("left_out", []) + gate.suppressed
        e.figures, e.files = {}, {}


def fingerprint_frame(df) -> str:
    """Stable hash of a data frame's content (for 'same data' checks)."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def measure_summary(study_info: dict[str, Any], estimates: list[Estimate]) -> dict[str, Any]:
    """The machine-readable summary of one measure (stable keys), through the output gate:
    what this returns is what may be written (causal/report/gate.py)."""
    from causal.report.gate import PRIVATE, Rules, gate_summary

    rules = Rules.of(study_info.get("disclosure") or study_info["min_cell"])
    rows, left_out = [], []
    for e in estimates:
        d = e.to_dict()
        d["name"] = e.name
        left_out += [{**x, "where": f"{e.name}: {x['where']}"}
                     for x in (d["diagnostics"].get(PRIVATE) or {}).pop("left_out", [])]
        rows.append(d)
    raw = {
        "toolkit_version": __version__,
        "measure": study_info["measure"],
        "title": study_info["title"],
        "source": study_info["source"],
        "design": study_info["design"],
        "outcome": study_info["outcome"],
        "data": study_info["data"],
        "truth": _jsonable({k2: _r(v) for k2, v in (study_info.get("truth") or {}).items()}) or None,
        "reported": [{**r, "comparable_reason": not_comparable_reason(r)}
                     for r in study_info["reported"]],
        "lang": study_info.get("lang"),
        "gross_on_data": study_info.get("gross_on_data"),
        "adjustment": study_info.get("adjustment", ""),
        "identification": study_info.get("identification"),
        "identification_nl": study_info.get("identification_nl"),
        "adjustment_reason": study_info.get("adjustment_reason"),
        "adjustment_reason_nl": study_info.get("adjustment_reason_nl"),
        "settle": study_info.get("settle"),
        "notes": study_info.get("notes", []),
        "estimates": rows,
        "warnings": _jsonable(measure_warnings(study_info, rows)),
    }
    priv = _treated_only(study_info.get("gate") or {})
    out = gate_summary(raw, rules, priv, left_out)
    # what derives from the headline figures is recomputed from the gated ones
    out["estimates"] = [headline_fields(e, rules.percent_decimals) for e in out["estimates"]]
    _dutch_reason(out)
    out["preferred"] = preferred_name(out["estimates"], study_info.get("preferred"))
    for e in out["estimates"]:
        e["preferred"] = e["name"] == out["preferred"]
    out["gross_on_data"] = _headline_gross(out["estimates"], out["gross_on_data"])
    from causal.deadweight import DEFAULT_DISPLACEMENT, pivotal_check

    # from the gated estimates, so it shows nothing the gate withheld
    out["deadweight_check"] = pivotal_check(
        out["reported"], out["estimates"],
        study_info.get("displacement") or DEFAULT_DISPLACEMENT)
    return out


def _dutch_reason(out: dict[str, Any]) -> None:
    """The Dutch sentence of an estimate the spec declares not identified gives the spec's
    Dutch reason (identification.reason_nl, or an estimator option's, which the estimate
    carries as ``diagnostics.reason_nl``) when there is one."""
    from causal.messages import t

    why_en, why_nl = out.get("identification"), out.get("identification_nl")
    for e in out["estimates"]:
        own = (e.get("diagnostics") or {}).get("reason_nl")
        nl = own or (why_nl if e.get("reason") == why_en else None)
        if nl and e.get("net") is None and e.get("sentences"):
            e["sentences"]["nl"] = t("not_identified", "nl", reason=nl.rstrip(".")) + "."


def preferred_name(rows: list[dict], declared: str | None) -> str | None:
    """The name of the estimate the portfolio shows for a measure: the spec's ``preferred``
    (an estimator, optionally with its label or the start of it: 'bayesian_multilevel
    (dose-response)'), else the first identified estimate that is not naive; None when no
    estimate is identified."""
    ok = [r for r in rows if r["estimator"] != "naive" and r.get("net") is not None]
    if declared:
        est, _, lab = declared.partition("(")
        est, lab = est.strip(), lab.rstrip(")").strip()
        for r in ok:
            if r["estimator"] == est and (not lab or (r.get("label") or "").startswith(lab)
                                          or r.get("estimand") == lab):
                return r["name"]
    return ok[0]["name"] if ok else None


def _treated_only(priv: dict[str, Any]) -> dict[str, Any]:
    """The gate's private counts behind the treated mean (the bruto on the data)."""
    return {key: {k: v for k, v in (priv.get(key) or {}).items() if "treated" in k}
            for key in ("groups", "counts", "dominance")}


def _headline_gross(rows: list[dict], fallback: float | None) -> float | None:
    """The bruto on the data: the first identified non-naive estimate's own gross (its
    design defines it: the treated mean, the fit just above an RD cutoff, the chance of work
    within the horizon); the treated mean when there is none."""
    for e in rows:
        if e["estimator"] != "naive" and e.get("gross") is not None:
            return e["gross"]
    return fallback


def study_info(study) -> dict[str, Any]:
    """What the report needs to know about a Study (picklable, no data)."""
    spec = study.spec
    rep = spec.reported_gross()
    return {
        "measure": spec.measure, "title": spec.title, "source": spec.source.model_dump(),
        "design": spec.treatment.assignment,
        "outcome": {"column": spec.outcome.column, "kind": spec.outcome.kind,
                    "label": spec.outcome.label, "label_nl": spec.outcome.label_nl,
                    "horizon_months": spec.outcome.horizon_months},
        "data": {"source": study.source, "rows": len(study.data),
                 "fingerprint": fingerprint_frame(study.data)},
        "truth": study.truth or None,
        "reported": [r.model_dump() for r in spec.reported],
        "preferred": spec.preferred,
        "lang": spec.lang,
        "reported_headline": None if rep is None else rep.model_dump(),
        "gross_on_data": study.gross(),
        "adjustment": study.adjustment_note,
        "identification": (spec.identification.reason if spec.identification.status ==
                           "not_identified" else study.not_identified),
        "identification_nl": (spec.identification.reason_nl if spec.identification.status
                              == "not_identified" else None),
        "adjustment_reason": spec.identification.adjustment_reason,
        "adjustment_reason_nl": spec.identification.adjustment_reason_nl,
        "settle": settle_info(spec),
        "displacement": (spec.deadweight_check.displacement if spec.deadweight_check
                         else None),
        "notes": list(study.notes),
        "min_cell": spec.disclosure.min_cell,
        "disclosure": spec.disclosure.model_dump(),
        "gate": study.gate_private(),
        "graph": spec.graph,
        "design_warnings": design_warnings(study),
    }


def settle_info(spec) -> dict[str, Any] | None:
    """The design that would settle a question the data cannot identify, with the size of
    its trial (causal.power.settling_size), for the report page; None when the spec has none."""
    st = spec.identification.settle
    if st is None:
        return None
    out: dict[str, Any] = {"design": st.design, "data": st.data, "design_nl": st.design_nl,
                           "data_nl": st.data_nl}
    if st.power is not None:
        from causal.power import settling_sentence, settling_size

        pw = st.power.model_dump(exclude={"basis", "basis_nl"})
        size = settling_size(pw.pop("p0"), pw.pop("p1"), **pw)
        out.update(size=size, size_sentence=settling_sentence(size), basis=st.power.basis,
                   basis_nl=st.power.basis_nl)
    return out


def write_measure_report(info: dict[str, Any], estimates: list[Estimate], outdir: Path,
                         *, force: bool = False,
                         lang: str | None = None) -> tuple[dict[str, Any], str | None]:
    """Write reports/<measure>/; returns the summary and a notice if an older report made
    from different data was moved aside. ``lang`` (en, nl) is the language of report.md,
    index.html and the figures; default: NETTO_LANG, else the spec's ``lang``, else en."""
    from causal.messages import resolve_lang
    from causal.report.figure_lang import info_names

    lang = resolve_lang(lang, info.get("lang"))
    outdir = Path(outdir)
    notice = None
    old = outdir / "summary.json"
    if old.exists() and not force:
        try:
            prev = json.loads(old.read_text())["data"]["fingerprint"]
        except (ValueError, KeyError, TypeError):
            prev = None
        if prev != info["data"]["fingerprint"]:
            aside = outdir.with_name(f"{outdir.name}.previous-{(prev or 'unknown')[:8]}")
            shutil.rmtree(aside, ignore_errors=True)
            shutil.move(str(outdir), aside)
            notice = (f"{outdir}: the existing report was made from different data; "
                      f"moved it to {aside}")
    outdir.mkdir(parents=True, exist_ok=True)
    old.unlink(missing_ok=True)  # incomplete until the new summary.json lands
    render_figures(estimates, outdir, info.get("disclosure"), lang, info_names(info))
    # wall-clock times differ run to run: timings.json, never summary.json (same spec, data
    # and seed give the same summary.json byte for byte)
    timings = {e.name: e.diagnostics.pop("seconds") for e in estimates
               if "seconds" in e.diagnostics}
    summary = measure_summary(info, estimates)
    render_measure_pages(summary, outdir, lang)
    if timings:
        atomic_write(outdir / "timings.json", json.dumps(timings, indent=2, sort_keys=True) + "\n")
    atomic_write(outdir / "summary.json", json.dumps(summary, indent=2, sort_keys=True,
                                                     ensure_ascii=False) + "\n")
    return summary, notice


def render_measure_pages(summary: dict[str, Any], outdir: Path, lang: str) -> None:
    """decomposition.svg/.png (through the gate, with its manifest), report.md and
    index.html, all from the gated summary dict; records the figure files in
    ``summary["figures"]``."""
    rep = headline_reported(summary["reported"])
    reported = (rep["value"] if rep and rep.get("unit") == "percent" and rep.get("comparable")
                else None)
    from causal.report.localise import localise

    summary["figures"] = write_gated_figure(  # estimators' labels in the page's language
        summary, "decomposition", localise(summary, lang)["estimates"],
        lambda rows: figs.decomposition(rows, summary["title"], reported=reported, lang=lang),
        outdir, "bruto, counterfactual and netto per estimator (gated rows of summary.json)")
    summary["exports"] = ["report.docx"]
    write_pages(summary, outdir, lang)


def write_pages(summary: dict[str, Any], outdir: Path, lang: str) -> None:
    """report.md, index.html and report.docx of a measure from its gated summary (the
    figures already in ``outdir``), in ``lang``."""
    from causal.report.exports import report_docx

    ctx = page_context(summary, lang)
    atomic_write(outdir / "report.md", _MD_ENV.get_template("measure.md.j2").render(**ctx))
    atomic_write(outdir / "index.html", _ENV.get_template("measure.html.j2").render(**ctx))
    atomic_write(outdir / "report.docx", report_docx(summary, outdir, lang, ctx))


def write_gated_figure(summary: dict[str, Any], stem: str, rows: list[dict[str, Any]],
                       draw: Any, outdir: Path, what: str) -> list[str]:
    """Draw a report figure from gated summary rows through the gate (with its manifest)."""
    from causal.report.gate import Gate, Rules
    from causal.report.gate_figures import GatedFigure, save_figure

    keys = ("name", "estimator", "measure", "estimand", "unit", "gross", "net", "ci_low",
            "ci_high", "truth", "n_treated", "n_control", "counterfactual", "preferred")
    recs = [{k: r.get(k) for k in keys if k in r} for r in rows
            if r.get("net") is not None]
    rules = Rules.of({k: v for k, v in (summary.get("disclosure") or {}).items()
                      if k != "suppressed"})
    return save_figure(Gate(rules), GatedFigure(recs, draw, what=what), outdir, stem)


def _fmt(x: Any, nd: int = 1, suffix: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}{suffix}"
    return f"{x}{suffix}"
