"""``causal context ...``: check the context confounders by hand.

- ``causal context aow 1957-05-12 [--on 2018-03-01]``: the AOW age and date for a birth
  date, and the months to it from a reference date (today by default).
- ``causal context conjunctuur 2018-06 [--series FILE] [--indicator NAME]``: the
  indicator(s) a person with that inflow period gets, national and per region when the
  series has regions, and where the figures come from.

The lead mounts this sub-app with ``app.add_typer(context_app, name="context")``.
"""
from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from causal.errors import NettoError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Check the context confounders: AOW age and conjunctuur.")


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def _fail(msg: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(2)


def _date(text: str, what: str) -> pd.Timestamp:
    """ISO 1957-05-12, or Dutch day-first 12-05-1957 / 12/05/1957; never month-first."""
    s = text.strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", s)
    n = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", s)
    try:
        if m:
            return pd.Timestamp(int(m[1]), int(m[2]), int(m[3]))
        if n:
            return pd.Timestamp(int(n[3]), int(n[2]), int(n[1]))
    except ValueError:
        pass
    _fail(f"{what}: expected a date such as 1957-05-12 (or 12-05-1957, day first), got {text!r}")


def _age_words(months: int) -> str:
    y, m = divmod(int(months), 12)
    return f"{y} years" + (f" {m} month{'s' if m != 1 else ''}" if m else "")


@app.command("aow")
def aow_cmd(
    birth: str = typer.Argument(..., help="Birth date, e.g. 1957-05-12."),
    on: str | None = typer.Option(None, "--on", help="Reference date for the months to AOW "
                                  "(default: today)."),
    schedule: str | None = typer.Option(None, "--schedule", help="AOW ages for years after "
                                        "the last fixed year, e.g. '2032=67y6m,2035=67y9m'."),
    month_end: str = typer.Option("last_day", "--month-end",
                                  help="A day the target month lacks: 'last_day' or 'next_day'."),
):
    """The AOW age and date for a birth date, and the months to it."""
    from causal.context import aow

    b = _date(birth, "birth date")
    ref = _date(on, "--on") if on else pd.Timestamp(dt.date.today())
    if month_end not in ("last_day", "next_day"):
        _fail(f"--month-end: expected 'last_day' or 'next_day', got {month_end!r}")
    try:
        ext = aow._parse_extension(schedule) if schedule else None
        sched = aow.active_schedule(ext)
        months = int(aow.aow_age_months(b, schedule=ext).iloc[0])
        date = aow.aow_date(b, schedule=ext, month_end=month_end).iloc[0]
        mta = float(aow.months_to_aow(b, ref, schedule=ext, month_end=month_end).iloc[0])
    except ValueError as e:
        _fail(str(e))
    year = date.year
    fixed = year <= aow.LAST_FIXED_YEAR
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("Birth date", f"{b.date()} ({b.strftime('%d %B %Y')})")
    t.add_row("AOW age", f"{_age_words(months)} ({aow.format_age(months)})")
    t.add_row("AOW date", f"{date.date()} ({date.strftime('%A %d %B %Y')})")
    t.add_row("Reached in", f"{year}: the AOW age for {year} is "
              f"{aow.format_age(sched.get(year, sched[max(sched)]) if year > 2012 else aow.BASE_AGE)}")
    state = "reached" if mta <= 0 else "to go"
    t.add_row(f"Months to AOW on {ref.date()}", f"{mta:.2f} ({state}; days / 30.4375)")
    age_ref = (ref - b).days / 365.25
    t.add_row(f"Age on {ref.date()}", f"{age_ref:.2f} years")
    c = _console()
    c.print(t)
    if fixed:
        c.print(f"[dim]Schedule: statutory (AOW art. 7a; fixed up to {aow.LAST_FIXED_YEAR}).[/]")
    else:
        src = ("--schedule" if schedule else
               "NETTO_AOW_SCHEDULE/set_schedule" if len(sched) > len(aow.SCHEDULE) else
               f"default: {aow.format_age(aow.SCHEDULE[aow.LAST_FIXED_YEAR])} held after "
               f"{aow.LAST_FIXED_YEAR}")
        c.print(f"[yellow]Assumption:[/] the AOW age for {year} is not fixed yet (life-"
                f"expectancy link); used {src}. Set later years with --schedule or "
                f"{aow.ENV_VAR}.")


@app.command("conjunctuur")
def conjunctuur_cmd(
    period: str = typer.Argument(..., help="A year (2018), quarter (2018Q2), month (2018-06) "
                                 "or date (2018-06-15)."),
    series: str = typer.Option("default", "--series", "--conjunctuur",
                               help="A series CSV (default: the bundled CBS national series)."),
    indicator: list[str] | None = typer.Option(None, "--indicator",
                                               help="Only this indicator (repeatable)."),
    region: str | None = typer.Option(None, "--region", help="Only this region."),
):
    """The conjunctuur indicator(s) for a period, national and per region, and their source."""
    from causal.context import conjunctuur as cj

    parsed = cj.parse_period(period, allow_date=True)
    if parsed is None:
        _fail(f"period: expected {cj.PERIOD_FORMATS} or a date, got {period!r}")
    kind, canon = parsed
    try:
        table, meta = cj.load_table(series, Path.cwd())
        wanted = indicator or meta["indicators"]
        missing = [i for i in wanted if i not in meta["indicators"]]
        if missing:
            _fail(f"{meta['file']}: no indicator column {', '.join(map(repr, missing))}; it has: "
                  f"{', '.join(meta['indicators'])}")
        sers = {i: cj.load_series(series, i, Path.cwd()) for i in wanted}
    except NettoError as e:
        _fail(str(e))
    regions = [""] if not meta["regions"] else (
        ([""] if (table["region"] == "").any() else []) + meta["regions"])
    if region is not None:
        regions = [r for r in regions if r.casefold() == region.strip().casefold()]
        if not regions:
            _fail(f"region {region!r} is not in {meta['file']}; it has: "
                  f"{', '.join(meta['regions']) or 'national rows only'}")

    t = Table(title=f"Conjunctuur for {canon} ({kind})", title_justify="left")
    t.add_column("Region")
    for i in wanted:
        t.add_column(cj.KNOWN_INDICATORS.get(i, i), justify="right")
    t.add_column("From row")
    ann = "method" if "method" in meta["annotations"] else None
    if ann:
        t.add_column("Definition")
    words = {"year": "annual", "quarter": "quarterly", "month": "monthly"}
    covered = 0
    for r in regions:
        cells, used = [], set()
        for i in wanted:
            hit = cj.value_for_period(sers[i], canon, r)
            cells.append("not covered" if hit is None else f"{hit[0]:g}")
            if hit is not None:
                used.add(hit[1])
        if region is None and r and not used:
            continue
        covered += bool(used)
        label = ", ".join(f"{k} ({words[cj.parse_period(k)[0]]} figure)" for k in sorted(used))
        row = [r or "National", *cells, label or "-"]
        if ann:
            m = table[(table["region"].str.casefold() == r.casefold())
                      & table["period"].isin(used)][ann]
            row.append(", ".join(sorted({str(x) for x in m if str(x)})))
        t.add_row(*row)
    c = _console()
    c.print(t)
    if covered == 0:
        c.print("[yellow]No row of the series covers this period.[/]")
    cov = cj.coverage(next(iter(sers.values())))
    name = "bundled CBS national series" if series == "default" else series
    c.print(f"[bold]Series:[/] {name} ({meta['file']})")
    c.print(f"[bold]Covers:[/] {cov}")
    if meta["citation"]:
        lines = meta["citation"].splitlines()
        c.print("[bold]Source:[/] " + " ".join(lines[:4]) + (" ..." if len(lines) > 4 else ""))


if __name__ == "__main__":  # pragma: no cover
    app()
