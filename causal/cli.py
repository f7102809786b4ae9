"""The ``causal`` command: check specs, make twins, run batches, plan designs.

User errors (bad spec, bad data) print one clear message and exit with code 2; a failed
estimation in a batch exits with code 1 after the rest of the batch has run.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from causal.cli_mount import LazyGroup
from causal.cli_print import print_estimator_options, print_sequential, print_table
from causal.errors import NettoError

# ``context`` and ``validate`` load when used (causal.cli_mount)
app = typer.Typer(cls=LazyGroup, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False,
                  help="netto: net effects of labour-market measures, beside their gross figures.")
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def user_errors(fn):
    """Turn NettoError into a message and exit code 2; unexpected errors into a short
    message pointing at --debug / NETTO_DEBUG=1 for the traceback."""

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except NettoError as e:
            err.print(f"[bold red]error:[/] {escape(str(e))}")
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except OSError as e:  # a read-only or full output folder, a missing path: fixable
            from causal.errors import describe_os_error

            err.print(f"[bold red]error:[/] {escape(describe_os_error(e))}")
            raise typer.Exit(2) from None
        except Exception as e:  # noqa: BLE001 - last line of defence for the user
            if os.environ.get("NETTO_DEBUG"):
                raise
            err.print(f"[bold red]internal error[/] ({type(e).__name__}): {escape(str(e))}\n"
                      "This is a bug in netto; rerun with NETTO_DEBUG=1 for the traceback.")
            raise typer.Exit(3) from None

    return wrapper


@app.command()
@user_errors
def check(spec: Path = typer.Argument(..., help="A spec file or a folder of specs."),
          data: Path | None = typer.Option(None, "--data", help="Check this data file too.")):
    """Validate spec(s) (and optionally a data file against them)."""
    if data is None:  # estimator modules are imported for their options, never their intervals
        from causal.lazyimport import defer, defer_package

        defer_package("pandas")
        defer("scipy.stats")
        defer("scipy.special")
        defer("scipy.optimize")
    from causal.spec import find_specs, load_spec

    bad = 0
    seen: dict[str, Path] = {}
    for p in find_specs(spec):
        try:
            s = load_spec(p)
            first = seen.setdefault(s.measure, p)
            if first != p:
                from causal.errors import SpecError

                raise SpecError(str(p), "measure", f"the measure id '{s.measure}' is also used "
                                f"by {first}; each spec needs its own id")
            if data is not None or (s.data is not None and s.data.path):
                from causal.pipeline import prepare
                from causal.spec import check_graph

                st = prepare(s, data)
                stray = check_graph(s, set(map(str, st.data.columns))) if (
                    s.graph is not None and s.series is None and s.groups is None) else []
                _print_columns(st)
                if stray:
                    console.print("[yellow]warning:[/] " + escape(
                        f"{s.graph_path}: node(s) {', '.join(stray)} are neither columns of "
                        "the data nor marked unobserved, so they are treated as unobserved; add "
                        f'or map the column (data.columns), or mark the node: {stray[0]} '
                        '[observed="no"]'), soft_wrap=True)
                console.print(f"[green]ok[/] {p}: {len(st.data)} rows, "
                              f"{int(st.d().sum())} treated; adjusting for "
                              f"{', '.join(st.covariates) or 'nothing'}", soft_wrap=True)
                for n in st.notes:
                    console.print(f"   note: {escape(n)}", soft_wrap=True)
            else:
                from causal.estimators import missing_extra

                gone = [m for m in map(missing_extra, (e.name for e in s.estimators)) if m]
                if gone:
                    raise NettoError(f"{p}: " + "; ".join(gone))
                k = len(s.estimators)
                console.print(f"[green]ok[/] {p} ({s.measure}: {k} estimator{'s' * (k != 1)})")
        except NettoError as e:
            err.print(f"[bold red]error:[/] {escape(str(e))}")
            bad += 1
    if bad:
        raise typer.Exit(2)


def _print_columns(st) -> None:
    """The column table of ``causal check --data``: how each column was read."""
    if not st.columns:
        return
    t = Table("column (in the file)", "type", "how read", "missing", "levels / range",
              title=f"{st.source}: {st.dialect}" if st.dialect else st.source,
              header_style="bold")
    for info in st.columns:
        t.add_row(*map(escape, info.row()), style="red" if info.problem else None)
    console.print(t)


@app.command()
@user_errors
def simulate(spec: Path, out: Path = typer.Option(..., "--out", help=".csv or .parquet"),
             seed: int | None = typer.Option(None), n: int | None = typer.Option(None, min=1),
             stress: list[str] | None = typer.Option(
                 None, "--stress", help="Stress scenario NAME or NAME:key=value,... "
                                        "(repeatable; causal.twins.stress).")):
    """Write the spec's synthetic twin to a file (the truth goes in a .truth.json beside it)."""
    from causal.simulate import simulate as make
    from causal.simulate import write_twin

    tw = make(spec, seed=seed, n=n, stress=stress)
    truth = write_twin(tw, out)
    console.print(f"wrote {out} ({len(tw.data)} rows) and {truth}: {tw.description}")


@app.command()
@user_errors
def run(target: list[Path] = typer.Argument(..., help="Spec file(s) or folder(s) of specs."),
        data: Path | None = typer.Option(None, "--data", help="Run on this data file instead of the twin."),
        out: Path = typer.Option(Path("reports"), "--out", help="Report folder."),
        workers: int | None = typer.Option(None, "--workers", "-w", help="Local processes (default: up to 2)."),
        scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address."),
        force: bool = typer.Option(False, "--force", help="Recompute cached results."),
        seed: int | None = typer.Option(None, help="Twin seed (default: the spec's)."),
        n: int | None = typer.Option(None, min=1, help="Twin size (default: the spec's)."),
        conjunctuur: Path | None = typer.Option(None, "--conjunctuur", help="CSV series replacing the spec's."),
        estimator: list[str] | None = typer.Option(None, "--estimator", "-e", help="Run only these estimators."),
        lang: str | None = typer.Option(None, "--lang", help="Report language: en or nl (default: NETTO_LANG, else the spec's lang, else en)."),
        quiet: bool = typer.Option(False, "--quiet", "-q")):
    """Estimate every spec (on its twin, or on --data) and write reports/."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from causal.batch import run_batch

    if data is not None and not data.exists():
        raise NettoError(f"{data}: the data file does not exist")
    if lang is not None:
        from causal.messages import resolve_lang

        lang = resolve_lang(lang)
    prog = Progress(TextColumn("[bold]estimating"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, disable=quiet, transient=True)
    task_id = None

    def on_start(total: int) -> None:
        nonlocal task_id
        task_id = prog.add_task("batch", total=total)

    def on_done(r) -> None:
        prog.advance(task_id)
        if quiet:
            return
        if r.ok:
            first = next((e for e in r.estimates if e["estimator"] != "naive"), r.estimates[0] if r.estimates else None)
            what = "" if first is None else _short(first)
            tag = "[dim]cached[/]" if r.cached else f"{r.seconds:5.1f} s"
            prog.console.print(f"[green]done[/] {r.task.measure} · {r.task.estimator}  {tag}  {what}")
        else:
            prog.console.print(f"[red]FAILED[/] {r.task.measure} · {r.task.estimator}: "
                               f"{escape(r.error.splitlines()[0])}")

    with prog:
        batch = run_batch([str(t) for t in target], out=out, data=str(data) if data else None,
                          workers=workers, scheduler=scheduler, force=force, seed=seed, n=n,
                          conjunctuur=str(conjunctuur) if conjunctuur else None,
                          estimators=estimator, lang=lang, on_start=on_start, on_done=on_done)
    print_table(batch, console, lang)
    for note in batch.notices:
        console.print(f"[yellow]note:[/] {note}")
    for _p, e in batch.spec_errors:
        err.print(f"[bold red]spec error:[/] {escape(str(e))}")
    for r in batch.failed:
        err.print(f"[bold red]failed:[/] {r.task.measure} · {r.task.estimator}: {escape(r.error or '')}")
    from causal.messages import num, t
    from causal.report.portfolio import batch_lang

    say = batch_lang(batch, lang)
    times = batch.seconds_by_measure()
    if times:
        console.print(t("console.times", say, s=num(batch.seconds, 1, say), list=", ".join(
            f"{m} {num(x, 1, say)} s" for m, x in sorted(times.items()))))
    console.print(t("console.written", say, out=out))
    if batch.spec_errors or any(r.user_error for r in batch.failed):
        raise typer.Exit(2)  # a spec, data or file problem the user can fix
    if not batch.ok:
        raise typer.Exit(1)


def _short(e: dict) -> str:
    if e.get("net") is None:
        return "not identified"
    ci = f" [{e['ci_low']:.1f}, {e['ci_high']:.1f}]" if e.get("ci_low") is not None else ""
    return f"{e['estimand']} {e['net']:.2f}{ci}"


@app.command()
@user_errors
def power(p0: float = typer.Option(0.1167, help="Control-group rate (Almere: 11.67%)."),
          p1: float | None = typer.Option(0.2125, help="Treatment-group rate (Almere: 21.25%)."),
          alpha: float = typer.Option(0.05), target_power: float = typer.Option(0.8, "--power"),
          one_sided: bool = typer.Option(True, "--one-sided/--two-sided"),
          compliance: float = typer.Option(1.0, help="Share of the assigned actually treated."),
          n: int | None = typer.Option(None, min=2, help="Persons per arm: report power and MDE."),
          cluster_size: int = typer.Option(1, min=1, help="Persons per randomised cluster."),
          icc: float = typer.Option(0.0, min=0.0, max=0.99, help="Intra-cluster correlation."),
          looks: str | None = typer.Option(
              None, help="Interim looks as information fractions, e.g. 0.5,1 (group-sequential "
                         "boundaries by Lan-DeMets alpha spending)."),
          spending: str = typer.Option("obrien_fleming", help="obrien_fleming or pocock.")):
    """Sample size, power and minimum detectable effect for a two-arm design."""
    from causal import power as pw

    sided = 1 if one_sided else 2
    if not (0 < compliance <= 1):
        raise NettoError("--compliance: expected a share in (0, 1]")
    if p1 is None and n is None:
        raise NettoError("give --p1 (for the sample size) or --n (for power and the MDE)")
    if p1 is not None:
        p1_itt = pw.with_compliance(p0, p1 - p0, compliance)
        need = pw.n_per_arm(p0, p1_itt, alpha=alpha, power=target_power, sided=sided)
        console.print(f"control {p0:.2%} vs treatment {p1:.2%} (effect {100 * (p1 - p0):.2f} pp)"
                      + (f"; with {compliance:.0%} compliance the ITT arm sees {p1_itt:.2%}" if compliance < 1 else ""))
        console.print(f"{'one' if sided == 1 else 'two'}-sided alpha {alpha}, power {target_power}: "
                      f"[bold]{int(-(-need // 1))} per arm[/] ({int(2 * -(-need // 1))} in total)")
        if cluster_size > 1:
            size = pw.settling_size(p0, p1, alpha=alpha, power=target_power, sided=sided,
                                    compliance=compliance, cluster_size=cluster_size, icc=icc)
            console.print(f"randomising clusters of {cluster_size} (ICC {icc}): design effect "
                          f"{size['design_effect']:.2f}, [bold]{size['persons_per_arm']} per arm[/], "
                          f"{size['clusters_per_arm']} clusters per arm")
    if looks is not None:
        print_sequential(console, looks, spending, alpha, sided, target_power,
                         None if p1 is None else int(-(-need // 1)))
    if n is not None:
        if p1 is not None:
            console.print(f"power with {n} per arm: {pw.power_at(p0, pw.with_compliance(p0, p1 - p0, compliance), n, alpha=alpha, sided=sided):.2f}")
        m = pw.mde(p0, n, alpha=alpha, power=target_power, sided=sided)
        console.print(f"minimum detectable ITT effect with {n} per arm: {100 * m:.2f} pp"
                      + (f" (effect on the treated {100 * m / compliance:.2f} pp at {compliance:.0%} compliance)" if compliance < 1 else ""))


@app.command("estimators")
@user_errors
def list_estimators(name: str | None = typer.Argument(
        None, help="An estimator: print every option with its type, default and meaning.")):
    """List the estimators this installation knows, or one estimator's options."""
    from causal import estimators as reg

    if name is not None:
        print_estimator_options(console, reg, name)
        return
    t = Table("name", "fits designs", "what it does")
    for est in reg.available():
        info = reg.get(est)
        t.add_row(est, ", ".join(info.assignments or ("any",)), info.doc.splitlines()[0] if info.doc else "")
    console.print(t)
    console.print("[dim]causal estimators NAME prints an estimator's options.[/]")


@app.command()
def audit(reports: Path = typer.Argument(..., help="A report folder (the --out of causal run)."),
          min_cell: int = typer.Option(10, "--min-cell", min=1,
                                       help="Threshold never to go below (a spec may set more).")):
    """Check a report folder against the disclosure rules, from what is on disk (exit 0
    clean, 1 violations, 2 a folder that cannot be read)."""
    from causal.audit import audit as run_audit
    from causal.audit import cache_note

    try:
        found = run_audit(reports, min_cell)
    except NettoError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None
    note = cache_note(reports)
    if note:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    for v in found:
        console.print(f"violation {v}", soft_wrap=True, markup=False)
    if found:
        console.print(f"{len(found)} violation(s) of the disclosure rules in {reports}")
        raise typer.Exit(1)
    console.print(f"{reports}: no violations of the disclosure rules (min_cell and rounding "
                  "as each summary.json declares, never below --min-cell)")


@app.command()
@user_errors
def examples(dest: Path = typer.Argument(..., help="Folder to copy the examples to."),
             force: bool = typer.Option(False, "--force", help="Overwrite existing files.")):
    """Copy the bundled specs, graphs and notebooks to a folder (then: causal run DEST)."""
    from causal.examples import copy_examples

    files = copy_examples(dest, force=force)
    n_specs = sum(1 for f in files if f.parent.name == "data_specs")
    console.print(f"copied {n_specs} specs, their graphs and the notebooks to {dest}/; "
                  f"next: causal run {dest}")


@app.command("measures")
@user_errors
def measures(out: Path = typer.Option(Path("docs/measures.md"), "--out", help="The page to write."),
             problems: Path = typer.Option(Path("data_specs/problems/seed_problems.yaml"),
                                           "--problems", help="The problems file."),
             specs: Path = typer.Option(Path("data_specs"), "--specs", help="The specs folder."),
             check_only: bool = typer.Option(False, "--check",
                                             help="Exit 1 if the page is stale; write nothing.")):
    """Write the map of the seed reports' estimation problems (docs/measures.md)."""
    from causal.problem_map import render

    text = render(problems, specs)
    if check_only:
        current = out.read_text(encoding="utf-8") if out.is_file() else ""
        if current != text:
            err.print(f"{out} is stale: run `causal measures` and commit it")
            raise typer.Exit(1)
        console.print(f"[green]ok[/] {out} is current")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}")


@app.command()
def schema(markdown: bool = typer.Option(False, "--markdown",
                                         help="The spec reference (docs/spec.md) instead."),
           write: bool = typer.Option(False, "--write",
                                      help="Regenerate docs/spec.md and docs/spec.schema.json.")):
    """Print the JSON Schema of a spec (for editors; bundled specs reference it)."""
    from causal import specdoc

    if write:
        for p in specdoc.write():
            console.print(f"wrote {p}")
        return
    sys.stdout.write(specdoc.markdown() if markdown else specdoc.schema_text())


@app.command()
@user_errors
def init(datafile: Path = typer.Argument(..., help="The data file the spec is for."),
         design: str = typer.Option("observational", "--design",
                                    help="How treatment was assigned: randomized, "
                                         "observational, threshold, ..."),
         out: Path | None = typer.Option(None, "--out", help="Spec file to write "
                                         "(default: <datafile stem>.yaml beside it)."),
         force: bool = typer.Option(False, "--force", help="Overwrite an existing spec.")):
    """Write a commented first spec for a data file (columns typed, placeholders where
    nothing can be guessed, a graph skeleton), that passes causal check on that file."""
    from causal.init import write_spec

    written = write_spec(datafile, design=design, out=out, force=force)
    for p in written:
        console.print(f"wrote {p}")
    console.print(f"next: edit the TODO lines, then  causal check {written[0]}  and  "
                  f"causal run {written[0]}", soft_wrap=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
