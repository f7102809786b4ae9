"""Estimates and figures in Jupyter: figures display inline, an Estimate renders as a table.

netto draws with matplotlib's object API (``Figure()``, no pyplot state), so a figure shows
inline only when IPython knows how to render a ``Figure``; with no pyplot import in the
notebook, ipykernel has not registered its formatter and the cell shows ``<Figure size ...>``.
:func:`register` (called on ``import causal`` inside IPython) adds a PNG formatter for
``matplotlib.figure.Figure`` with IPython's own API (``formatters[...].for_type``).
"""
from __future__ import annotations

import html
import io
from typing import Any


def figure_png(fig: Any) -> bytes:
    """A figure as PNG bytes (the report's resolution)."""
    from causal.report.gate_figures import PNG_DPI

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI // 2, bbox_inches="tight")
    return buf.getvalue()


def register() -> bool:
    """Register the PNG formatter for matplotlib figures in a running IPython; False outside
    IPython (nothing to do)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False
    ip.display_formatter.formatters["image/png"].for_type_by_name(
        "matplotlib.figure", "Figure", figure_png)
    return True


def estimate_html(e: Any, lang: str | None = None) -> str:
    """An Estimate as a small HTML table with its sentence (Jupyter's ``_repr_html_``)."""
    from causal.messages import deadweight_text, num, resolve_lang

    lang = resolve_lang(lang)
    dec = e.decomposition()

    def f(x: float | None, nd: int = 1) -> str:
        return "-" if x is None else num(x, nd, lang)

    rows = [("measure", e.measure), ("estimator", e.name), ("estimand", e.estimand),
            ("netto", f(e.net, 2) + (f" [{f(e.ci_low)}, {f(e.ci_high)}]"
                                    if e.ci_low is not None else "") + f" {e.unit}"),
            ("bruto", f(dec["gross"])), ("counterfactual", f(dec["counterfactual"])),
            ("deadweight", deadweight_text(dec, lang)),
            ("n treated / control", f"{e.n_treated} / {e.n_control}")]
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                   f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return (f"<div><table>{body}</table><p><i>{html.escape(e.sentence(lang))}</i></p>"
            + "".join(f"<p style='color:#8a5300'>&#9888; {html.escape(w)}</p>"
                      for w in e.warnings) + "</div>")


def estimate_figure(e: Any, lang: str | None = None) -> Any:
    """The decomposition figure of one Estimate (bruto bar split into counterfactual and
    netto, the netto interval beside it)."""
    from causal.messages import resolve_lang
    from causal.report.figures import decomposition

    row = {**e.to_dict(), "name": e.name}
    return decomposition([row], f"{e.measure}: {e.name}", lang=resolve_lang(lang))
