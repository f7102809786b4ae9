"""Figures every report has: the bruto / counterfactual / netto decomposition, and the
portfolio's forest plot. Built on matplotlib's object API (no pyplot state), so they are safe
in worker processes."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

GROSS, CF, NET, TRUTH = "#4C72B0", "#BBBBBB", "#DD8452", "#2CA02C"


def decomposition(rows: list[dict], title: str, reported: float | None = None) -> Figure:
    """Left: per estimator, the bruto bar split into counterfactual and netto (and the
    report's published bruto as a dashed line). Right: the netto effect with its 95% interval,
    and the twin's true effect where known."""
    import textwrap

    rows = [r for r in rows if r.get("net") is not None and r.get("gross") is not None]
    fig = Figure(figsize=(9, 1.9 + 0.5 * max(1, len(rows))), layout="constrained")
    if not rows:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no identified estimate", ha="center", va="center")
        ax.set_axis_off()
        return fig
    ax, bx = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    y = np.arange(len(rows))[::-1]
    pct = rows[0].get("unit") == "pp"
    for i, (yi, r) in enumerate(zip(y, rows)):
        cf, net = r["gross"] - r["net"], r["net"]
        ax.barh(yi, cf, color=CF, label="counterfactual" if i == 0 else None)
        ax.barh(yi, net, left=cf, color=NET, label="netto" if i == 0 else None)
        bx.plot(net, yi, "o", color=NET)
        if r.get("ci_low") is not None:
            bx.hlines(yi, r["ci_low"], r["ci_high"], color=NET, lw=2)
        if r.get("truth") is not None:
            bx.plot(r["truth"], yi, marker="|", ms=16, mew=2.5, color=TRUTH,
                    label="true effect (twin)" if i == 0 else None)
    if reported is not None:
        ax.axvline(reported, color=GROSS, ls="--", lw=1.2, label="bruto published")
    bx.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [textwrap.shorten(r["name"], 34) for r in rows])
    ax.set_xlabel("bruto = counterfactual + netto" + (" (% of participants)" if pct else ""))
    bx.set_xlabel("netto effect, 95% interval" + (" (pp)" if pct else ""))
    fig.suptitle(textwrap.shorten(title, 95), fontsize=10)
    # one legend under both panels, outside the axes, so it never covers the axis labels
    handles, labels = [], []
    for a in (ax, bx):
        h, lab = a.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(handles, labels, fontsize=7, loc="outside lower center", ncol=len(labels),
               frameon=False)
    return fig


def forest(rows: list[dict]) -> Figure:
    """All netto effects with their intervals, one line per measure x estimator."""
    rows = [r for r in rows if r.get("net") is not None]
    fig = Figure(figsize=(8, 1.0 + 0.28 * max(1, len(rows))))
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows):
        naive = r["estimator"] == "naive"
        ax.errorbar(r["net"], yi, xerr=None if r.get("ci_low") is None else
                    [[r["net"] - r["ci_low"]], [r["ci_high"] - r["net"]]],
                    fmt="o" if not naive else "x", color="grey" if naive else NET, capsize=2, ms=4)
        if r.get("truth") is not None:
            ax.plot(r["truth"], yi, marker="|", color=TRUTH, ms=10, mew=2)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{r['measure']} - {r['name']}" for r in rows], fontsize=7)
    ax.set_xlabel("netto effect (percentage points; x = naive comparison, | = twin's truth)")
    fig.tight_layout()
    return fig
