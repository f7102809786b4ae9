"""What the ``causal`` command prints as tables (causal.cli): the bruto/netto table of a
batch, the group-sequential boundaries of ``causal power --looks`` and one estimator's
options. Each takes the console to print on."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from causal.errors import NettoError


def _se_cell(r: dict, lang: str) -> str:
    """The standard-error flavour of a table row, with its number of clusters."""
    from causal.messages import t

    se = r.get("se_type") or "-"
    return se + (f" ({t('console.clusters', lang, n=r['n_clusters'])})"
                 if r.get("n_clusters") else "")


def _g(x: float, lang: str) -> str:
    """A published figure as the report gives it (54, 54.5), with a decimal comma in Dutch."""
    from causal.messages import dutch_separators

    return dutch_separators(f"{x:g}") if lang == "nl" else f"{x:g}"


def print_table(batch, console: Console, lang: str | None = None) -> None:
    """The bruto/netto table: one row per measure x estimator, in the reports' language
    (the portfolio's: ``lang``, else NETTO_LANG, else the specs')."""
    from causal.messages import deadweight_text, num, t
    from causal.report.localise import localise
    from causal.report.portfolio import batch_lang, portfolio_rows

    lang = batch_lang(batch, lang)
    rows = portfolio_rows({m: localise(s, lang) for m, s in batch.summaries.items()})
    tab = Table(title=t("console.title", lang), show_lines=False, header_style="bold")
    for col, j in [("measure", "left"), ("estimator", "left"), ("bruto_reported", "right"),
                   ("bruto_data", "right"), ("netto", "right"), ("truth", "right"),
                   ("deadweight", "right"), ("se", "left")]:
        tab.add_column(t(f"console.{col}", lang), justify=j)
    last = None
    for r in rows:
        rep = "-" if r["reported_gross"] is None else (
            _g(r["reported_gross"], lang) + "%" + ("" if r["reported_comparable"] else "*"))
        if r["net"] is None:
            net = f"[red]{t('console.not_identified', lang)}[/]"
        else:
            ci = (f" [{num(r['ci_low'], 1, lang)}; {num(r['ci_high'], 1, lang)}]"
                  if lang != "en" else f" [{r['ci_low']:.1f}, {r['ci_high']:.1f}]"
                  ) if r["ci_low"] is not None else ""
            net = f"{num(r['net'], 2, lang)}{ci}"
        truth = "-" if r["truth"] is None else num(r["truth"], 2, lang) + (
            " [green]✓[/]" if r["covers_truth"] else " [red]✗[/]" if r["covers_truth"] is False else "")
        dw = deadweight_text(r, lang, short=True)
        show = r["measure"] != last
        tab.add_row(r["measure"] if show else "", r["estimator"], rep if show else "",
                    "-" if r["gross"] is None else num(r["gross"], 1, lang),
                    net, truth, dw, escape(_se_cell(r, lang)),
                    style="dim" if r["estimator"].startswith("naive") else None)
        last = r["measure"]
    console.print(tab)
    if any(r["reported_gross"] is not None and not r["reported_comparable"] for r in rows):
        console.print(f"[dim]{escape(t('console.not_comparable', lang))}[/]")


def print_sequential(console: Console, looks: str, spending: str, alpha: float, sided: int,
                     target_power: float, fixed_n: int | None) -> None:
    """Print group-sequential boundaries (causal.sequential) and the maximum size."""
    from causal.sequential import boundaries

    try:
        fr = [float(x) for x in looks.split(",")]
    except ValueError:
        raise NettoError(f"--looks: expected fractions such as 0.5,1; got '{looks}'") from None
    if spending not in ("obrien_fleming", "pocock"):
        raise NettoError(f"--spending: expected obrien_fleming or pocock; got '{spending}'")
    try:
        d = boundaries(fr, alpha=alpha, sided=sided, spending=spending, power=target_power)
    except ValueError as e:
        raise NettoError(f"--looks: {e}") from None
    t = Table("look", "information", "z boundary", "nominal p", "alpha spent",
              title=f"{spending.replace('_', '-')} alpha spending (Lan and DeMets 1983)")
    for r in d.rows():
        t.add_row(str(r["look"]), f"{r['information']:.2f}", f"{r['z']:.3f}",
                  f"{r['nominal_p']:.4f}", f"{r['alpha_spent']:.4f}")
    console.print(t)
    msg = f"inflation factor {d.inflation:.3f}"
    if fixed_n is not None:
        mx = int(-(-fixed_n * d.inflation // 1))
        msg += (f": at most [bold]{mx} per arm[/] for power {target_power} "
                f"(looks at {', '.join(str(int(-(-mx * f // 1))) for f in d.looks)} per arm)")
    console.print(msg)


def print_estimator_options(console: Console, reg, name: str) -> None:
    """Every option of one estimator: type, default and meaning (its Field description)."""

    try:
        info = reg.get(name)
    except KeyError:
        raise NettoError(f"estimators: '{name}' is not a known estimator (known: "
                         f"{', '.join(reg.available())})") from None
    console.print(f"[bold]{name}[/] (designs: {', '.join(info.assignments or ('any',))})")
    if info.doc:
        console.print(escape(" ".join(info.doc.split())))
    t = Table("option", "type", "default", "meaning", show_lines=True)
    for opt, f in info.options.model_fields.items():
        ann = getattr(f.annotation, "__name__", None) if isinstance(f.annotation, type) else None
        typ = ann or str(f.annotation).replace("typing.", "")
        if f.is_required():
            default = "(required)"
        elif f.default_factory is not None:
            default = repr(f.default_factory())
        else:
            default = repr(f.default)
        t.add_row(opt, escape(typ), escape(default), escape(f.description or "-"))
    console.print(t)
