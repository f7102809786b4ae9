"""Figures every report has: the bruto / counterfactual / netto decomposition, and the
portfolio's forest plot. Built on matplotlib's object API (no pyplot state), so they are safe
in worker processes; drawn only from the (checked) summary rows, labelled from the message
catalogue in the report's language, with constrained layout so no label is cut."""
from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from causal.messages import num, t

GROSS, CF, NET, TRUTH, NAIVE = "#4C72B0", "#BBBBBB", "#DD8452", "#2CA02C", "#777777"


def _is_naive(r: dict) -> bool:
    return str(r.get("estimator", "")).split(" ")[0] == "naive"


class _Once:
    """A legend label from the catalogue the first time a key is drawn, None afterwards."""

    def __init__(self, lang: str) -> None:
        self.lang, self.seen = lang, set()

    def __call__(self, key: str) -> str | None:
        if key in self.seen:
            return None
        self.seen.add(key)
        return t(f"figure.{key}", self.lang)


class _DecimalComma(ScalarFormatter):
    """matplotlib's tick labels with a decimal comma, as Dutch writes numbers."""

    def __call__(self, x, pos=None):
        return super().__call__(x, pos).replace(".", ",")


def _localise(fig: Figure, lang: str) -> Figure:
    """Tick labels written as ``lang`` writes numbers (nl: 2,5 not 2.5)."""
    if lang == "nl":
        for a in fig.axes:
            a.xaxis.set_major_formatter(_DecimalComma())
    return fig


def _wrap(s: str, width: int = 32) -> str:
    return "\n".join(textwrap.wrap(s, width)) or s


def decomposition(rows: list[dict], title: str, reported: float | None = None,
                  lang: str = "en") -> Figure:
    """Left: per estimate, the bruto bar split into counterfactual and netto for the group the
    estimand is about (none for an ATE, a dose-response or a naive comparison), and the
    report's published bruto as a dashed line when it is comparable. Right: the netto effect
    with its 95% interval (naive comparisons hollow and grey), and the twin's true effect."""
    rows = [r for r in rows if r.get("net") is not None]
    fig = Figure(figsize=(9.5, 2.2 + 0.55 * max(1, len(rows))), layout="constrained")
    if not rows:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, t("figure.none", lang), ha="center", va="center")
        ax.set_axis_off()
        return fig
    ax, bx = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    y = np.arange(len(rows))[::-1]
    pct = rows[0].get("unit") == "pp"
    once = _Once(lang)

    for yi, r in zip(y, rows):
        naive = _is_naive(r)
        cf = r.get("counterfactual")
        if cf is not None and r.get("gross") is not None:
            ax.barh(yi, cf, color=CF, label=once("counterfactual"))
            ax.barh(yi, r["net"], left=cf, color=NET, label=once("netto"))
        mk = dict(marker="o", color=NAIVE if naive else NET, mfc="white" if naive else NET,
                  ms=6, ls="none")
        bx.plot(r["net"], yi, **mk)
        if r.get("ci_low") is not None:
            bx.hlines(yi, r["ci_low"], r["ci_high"], color=NAIVE if naive else NET, lw=2,
                      ls=":" if naive else "-")
        if r.get("truth") is not None:
            bx.plot(r["truth"], yi, marker="|", ms=16, mew=2.5, color=TRUTH, ls="none",
                    label=once("truth"))
    if reported is not None:
        ax.axvline(reported, color=GROSS, ls="--", lw=1.2, label=t("figure.published", lang))
    bx.axvline(0, color="black", lw=0.8)
    naive_tag = t("report.naive_tag", lang)
    labels = [_wrap(f"{r['name']}" + (f" [{naive_tag}]" if _is_naive(r) else "")
                    + (f" ({r['unit']})" if r.get("unit") and r["unit"] != rows[0].get("unit")
                       else ""), 34) for r in rows]
    ax.set_yticks(y, labels, fontsize=8)
    for tick, r in zip(ax.get_yticklabels(), rows):
        if _is_naive(r):
            tick.set_color(NAIVE)
            tick.set_fontstyle("italic")
    ax.set_xlabel(t("figure.bruto_axis_pct" if pct else "figure.bruto_axis", lang))
    bx.set_xlabel(t("figure.netto_axis_pp" if pct else "figure.netto_axis", lang))
    fig.suptitle(_wrap(title, 100), fontsize=10)
    handles, labs = [], []
    for a in (ax, bx):
        h, lab = a.get_legend_handles_labels()
        handles += h
        labs += lab
    if labs:
        fig.legend(handles, labs, fontsize=8, loc="outside lower center", ncol=len(labs),
                   frameon=False)
    return _localise(fig, lang)


def forest(rows: list[dict], lang: str = "en") -> Figure:
    """One line per measure: its preferred estimate (``preferred`` true in the row) with its
    interval, the naive comparison of the same measure as a hollow grey marker, the twin's
    truth as a green tick. Measures without an identified estimate are not drawn (the
    portfolio lists them). The axis is fitted to the preferred estimates, their intervals and
    truths; a naive value outside it is drawn as a hollow triangle at the edge with its value
    written beside it."""
    pref = [r for r in rows if r.get("preferred") and r.get("net") is not None]
    naive = {r["measure"]: r for r in rows if _is_naive(r) and r.get("net") is not None}
    fig = Figure(figsize=(9, 1.4 + 0.42 * max(1, len(pref))), layout="constrained")
    ax = fig.add_subplot()
    if not pref:
        ax.text(0.5, 0.5, t("figure.none", lang), ha="center", va="center")
        ax.set_axis_off()
        return fig
    vals = [v for r in pref for v in (r["net"], r.get("ci_low"), r.get("ci_high"),
                                      r.get("truth")) if v is not None] + [0.0]
    lo, hi = min(vals), max(vals)
    pad = 0.08 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    y = np.arange(len(pref))[::-1]
    once = _Once(lang)

    for yi, r in zip(y, pref):
        err = None if r.get("ci_low") is None else [[r["net"] - r["ci_low"]],
                                                     [r["ci_high"] - r["net"]]]
        ax.errorbar(r["net"], yi, xerr=err, fmt="o", color=NET, capsize=3, ms=6,
                    label=once("forest_legend_est"))
        if r.get("truth") is not None:
            ax.plot(r["truth"], yi, marker="|", color=TRUTH, ms=14, mew=2.5, ls="none",
                    label=once("forest_legend_truth"))
        nv = naive.get(r["measure"])
        if nv is not None:
            x = nv["net"]
            lab = once("forest_legend_naive")
            if lo <= x <= hi:
                ax.plot(x, yi, marker="o", mfc="white", color=NAIVE, ms=7, ls="none", label=lab)
            else:
                edge = hi if x > hi else lo
                ax.plot(edge, yi, marker=">" if x > hi else "<", mfc="white", color=NAIVE,
                        ms=8, ls="none", label=lab)
                ax.annotate(num(x, 1, lang), (edge, yi), xytext=(-4 if x > hi else 4, 6),
                            textcoords="offset points", fontsize=7, color=NAIVE,
                            ha="right" if x > hi else "left")
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.6, len(pref) - 0.4)
    ax.axvline(0, color="black", lw=0.8)
    units = {r.get("unit") for r in pref}
    ax.set_yticks(y, [_wrap(f"{r['measure']}: {r['name']}"
                            + (f" ({r['unit']})" if len(units) > 1 and r.get("unit") != "pp"
                               else ""), 48) for r in pref], fontsize=8)
    ax.set_xlabel(t("figure.forest_axis" if units <= {"pp"} else "figure.forest_axis_other",
                    lang))
    fig.legend(fontsize=8, loc="outside lower center", ncol=3, frameon=False)
    return _localise(fig, lang)
