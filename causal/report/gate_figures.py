"""Figures and files through the output gate: drawn only from gated aggregates.

An estimator hands a figure as a :class:`GatedFigure`: the aggregates it shows (records,
each with the person counts behind it) and a function that draws records. The gate keeps a
record only when every person count in it reaches ``min_cell`` (a zero is an empty bin, no
one's secret); with ``merge="adjacent"`` it first merges neighbouring records (RD bins,
histogram bins: in order, within ``group``) until each does, so nothing is lost but
resolution. It then rounds the counts, draws the figure from the gated records and writes a
manifest beside it (``<stem>.manifest.json``): the rules, each record shown with its counts,
and what was left out and why. A figure handed as a bare function (no counts) is not drawn.

Files (a posterior, say) come as :class:`GatedFile`: records per group with counts, and a
writer that is given the records that passed; the manifest lists them too.

Merging adjacent cells is the usual remedy for small cells in graphs (Hundepool et al. 2012,
ch. 4; CBS output guidelines: a graph is a table). Written by hand: a few lines over
netto's own record lists.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from causal.report.gate import HEADLINE, Gate, _is_num, is_count_key, sig

MANIFEST_SUFFIX = ".manifest.json"


@dataclass
class GatedFigure:
    """A figure the gate draws. ``records``: the aggregates, each a dict with its person
    counts (keys ``n`` / ``n_*``); other numbers are means or positions. ``draw(records)``
    returns a matplotlib Figure. ``merge="adjacent"`` merges neighbours (in list order,
    within equal ``group`` values) until every count reaches the threshold: counts add up,
    keys ending in ``_lo`` / ``_hi`` take the min / max, other numbers are averaged
    weighted by ``n`` (or the sum of the counts)."""

    records: list[dict[str, Any]]
    draw: Callable[[list[dict[str, Any]]], Any]
    merge: str | None = None
    group: str | None = None
    what: str = ""

    def __call__(self, rules: Any = None, lang: str | None = None) -> Any:
        """The figure as the gate would draw it under ``rules`` (default rules), its texts in
        ``lang`` (default: NETTO_LANG, else English)."""
        from causal.messages import resolve_lang
        from causal.report.figure_lang import localise_figure
        from causal.report.gate import Rules

        shown = gate_records(Gate(Rules.of(rules)), self.records, "figure", merge=self.merge,
                             group=self.group)
        fig = self.draw(shown)
        localise_figure(fig, resolve_lang(lang))
        return fig


@dataclass
class GatedFile:
    """A file the gate writes: ``write(path, records)`` gets the records that passed."""

    records: list[dict[str, Any]]
    write: Callable[[str, list[dict[str, Any]]], None]
    what: str = ""

    def __call__(self, path: Any, rules: Any = None) -> None:
        """Write the file outside a report (with ``rules``: groups under their threshold left
        out, as the gate does; without: the records as the estimator gave them)."""
        from causal.report.gate import Rules

        k = Rules.of(rules).min_cell if rules is not None else 0
        self.write(str(path), [r for r in self.records if _ok(r, k)])


def _counts(r: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in r.items() if is_count_key(k) and _is_num(v)}


def _ok(r: dict[str, Any], k: int) -> bool:
    return all(v == 0 or v >= k for v in _counts(r).values())


def _merge_two(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    ca, cb = _counts(a), _counts(b)
    wa = a.get("n", sum(ca.values()))
    wb = b.get("n", sum(cb.values()))
    out = dict(a)
    for key in set(a) | set(b):
        va, vb = a.get(key), b.get(key)
        if key in ca or key in cb:
            out[key] = (va or 0) + (vb or 0)
        elif key.endswith("_lo") and _is_num(va) and _is_num(vb):
            out[key] = min(va, vb)
        elif key.endswith("_hi") and _is_num(va) and _is_num(vb):
            out[key] = max(va, vb)
        elif _is_num(va) and _is_num(vb):
            out[key] = (va * wa + vb * wb) / (wa + wb) if wa + wb else va
        else:
            out[key] = va if va is not None else vb
    out["merged"] = int(a.get("merged", 1)) + int(b.get("merged", 1))
    return out


def merge_adjacent(records: list[dict[str, Any]], k: int,
                   group: str | None = None) -> list[dict[str, Any]]:
    """Merge neighbouring records within each group until every count is 0 or >= k; a small
    last record joins the one before it. A group that cannot reach k as a whole is dropped."""
    out: list[dict[str, Any]] = []
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(r.get(group) if group else None, []).append(r)
    for rs in groups.values():
        merged: list[dict[str, Any]] = []
        cur: dict[str, Any] | None = None
        for r in rs:
            cur = r if cur is None else _merge_two(cur, r)
            if _ok(cur, k):
                merged.append(cur)
                cur = None
        if cur is not None:
            if merged:
                merged[-1] = _merge_two(merged[-1], cur)
            elif _ok(cur, k):
                merged.append(cur)
        out += [m for m in merged if _ok(m, k)]
    return out


def gate_records(gate: Gate, records: list[dict[str, Any]], where: str, *,
                 merge: str | None = None, group: str | None = None
                 ) -> list[dict[str, Any]]:
    """The records to draw and list in the manifest: small ones merged or left out
    (listed in the gate), counts rounded, other numbers to three significant digits."""
    k = gate.k
    if merge == "adjacent":
        kept = merge_adjacent(records, k, group)
        if sum(r.get("merged", 1) for r in kept) < len(records):
            gate.hide(where, f"bins under {k} persons merged with neighbours; what could not "
                      "be merged is left out")
        elif len(kept) < len(records):
            gate.hide(where, f"bins under {k} persons merged with their neighbours")
    else:
        kept = [r for r in records if _ok(r, k)]
        if len(kept) < len(records):
            gate.hide(where, f"{len(records) - len(kept)} item(s) resting on fewer than {k} "
                      "persons left out")
    shown = []
    for r in kept:
        s = {}
        for key, v in r.items():
            if is_count_key(key) and _is_num(v):
                s[key] = gate.count(v)
            elif key in HEADLINE and _is_num(v):
                s[key] = gate.figure_value(v)
            elif isinstance(v, float):
                s[key] = sig(v, 4)
            else:
                s[key] = v
        shown.append(s)
    return shown


#: resolution of every PNG netto writes (an SVG is written beside it, issue 16).
PNG_DPI = 200


#: white margin around the drawn texts (``savefig(pad_inches=...)``)
PAD_INCHES = 0.08


def _saved_area(fig: Any) -> Any:
    """The area every format of ``fig`` is saved with: fitted to the drawn texts (what
    ``bbox_inches="tight"`` computes), so a long (Dutch) tick or title is never cut.

    Laid out and measured once, at the PNG's resolution, and handed to each ``savefig`` as
    a box: with ``"tight"`` matplotlib lays the figure out and measures every text again for
    each format (a draw without rendering plus ``Figure.get_tightbbox``), about a third of
    the time a figure's two files took."""
    dpi = fig.dpi
    fig.set_dpi(PNG_DPI)
    try:
        fig.draw_without_rendering()  # runs the figure's layout engine, places the ticks
        return fig.get_tightbbox().padded(PAD_INCHES)
    finally:
        fig.set_dpi(dpi)


def _save(fig: Any, path: Path, area: Any) -> None:
    """Save atomically and byte-stable: no date or software metadata, fixed SVG ids; the
    saved area ``area`` (inches, :func:`_saved_area`)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(fd)
    ext = path.suffix.lstrip(".").lower()
    kw = ({"metadata": {"Date": None, "Creator": None}} if ext == "svg" else
          {"dpi": PNG_DPI, "metadata": {"Software": None}})
    try:
        fig.savefig(tmp, format=ext, bbox_inches=area, **kw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_formats(fig: Any, outdir: Path, stem: str, formats: tuple[str, ...]) -> list[str]:
    """Save ``fig`` as ``<stem>.<ext>`` for each format, laid out and measured once
    (:func:`_saved_area`); the layout is then held for every format (no layout engine runs
    during the saves) and restored afterwards. Returns the file names."""
    import matplotlib

    rc = {"svg.hashsalt": "netto", "svg.fonttype": "none",
          # with the engine set to None below, these decide that none runs in savefig
          "figure.autolayout": False, "figure.constrained_layout.use": False}
    with matplotlib.rc_context(rc):
        area = _saved_area(fig)
        engine = fig.get_layout_engine()
        fig.set_layout_engine(None)
        try:
            for ext in formats:
                _save(fig, outdir / f"{stem}.{ext}", area)
        finally:
            fig.set_layout_engine(engine)
    return [f"{stem}.{ext}" for ext in formats]


def write_manifest(outdir: Path, stem: str, files: list[str], gate: Gate, what: str,
                   shown: list[dict[str, Any]], left_out: list[dict[str, str]]) -> str:
    """Write ``<stem>.manifest.json``; returns its file name."""
    from causal.report.writer import atomic_write

    name = stem + MANIFEST_SUFFIX
    doc = {"files": files, "shows": what, "rules": gate.rules.as_dict(), "records": shown,
           "left_out": left_out}
    atomic_write(outdir / name, json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False,
                                           default=str) + "\n")
    return name


def save_figure(gate: Gate, item: Any, outdir: Path, stem: str,
                formats: tuple[str, ...] = ("svg", "png"), lang: str = "en",
                names: Any = ()) -> list[str]:
    """Gate, draw and save one figure (and its manifest), its texts in ``lang``
    (causal/report/figure_lang.py; ``names``: the study's names, kept). Returns the files
    written (none when nothing may be shown, or the figure brings no counts)."""
    from causal.report.figure_lang import localise_figure

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    before = len(gate.suppressed)
    if not isinstance(item, GatedFigure):
        gate.hide(f"figure {stem}", "not drawn: it does not hand its aggregates and their "
                  "person counts to the output gate")
        return []
    shown = gate_records(gate, item.records, f"figure {stem}", merge=item.merge,
                            group=item.group)
    if not shown:
        gate.hide(f"figure {stem}", f"not drawn: nothing in it rests on {gate.k} or more persons")
        return []
    fig = item.draw(shown)
    localise_figure(fig, lang, names)
    files = save_formats(fig, outdir, stem, formats)
    files.append(write_manifest(outdir, stem, files[:], gate, item.what, shown,
                                gate.suppressed[before:]))
    return files


def save_file(gate: Gate, item: Any, outdir: Path, fname: str) -> list[str]:
    """Gate and write one data file (and its manifest)."""
    outdir = Path(outdir)
    before = len(gate.suppressed)
    if not isinstance(item, GatedFile):
        gate.hide(f"file {fname}", "not written: it does not hand its groups and their "
                  "person counts to the output gate")
        return []
    shown = gate_records(gate, item.records, f"file {fname}")
    if not shown:
        gate.hide(f"file {fname}", f"not written: no group in it has {gate.k} or more persons")
        return []
    keep = [r for r in item.records if _ok(r, gate.k)]
    fd, tmp = tempfile.mkstemp(dir=outdir, suffix=Path(fname).suffix)
    os.close(fd)
    try:
        item.write(tmp, keep)
        os.replace(tmp, outdir / fname)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    stem = Path(fname).stem
    return [fname, write_manifest(outdir, stem, [fname], gate, item.what, shown,
                                  gate.suppressed[before:])]


__all__ = ["GatedFigure", "GatedFile", "merge_adjacent", "gate_records", "save_figure",
           "save_file", "write_manifest", "MANIFEST_SUFFIX"]
