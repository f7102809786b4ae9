"""Batch estimation over many specs: one task per measure x estimator.

Runs in-process (``workers=1``), over local processes (default), or on a Dask cluster
(``scheduler=`` an address or a ``distributed.Client``). The tasks of one Study go to one
process as a job (it prepares the Study once; refuters and sensitivity bounds, shared by its
estimators, run once), costliest jobs first. Each task runs one estimator, renders its
figures into its cache entry, and returns plain data; then the same worker processes write
the measures' report folders, and the parent the portfolio. Results are cached under ``<out>/.cache/<key>/``, keyed on a hash of the
spec file, its graph, the data (file bytes, or the twin's seed and size), the estimator and
its options, the conjunctuur series and the toolkit version; a rerun skips what is done and
unchanged unless ``force``. One failing task never stops the batch.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from causal.batch_keys import study_key, task_key  # noqa: F401 - re-exported
from causal.errors import NettoError, SpecError, describe_os_error, is_user_error
from causal.result import Estimate


@dataclass(frozen=True)
class Task:
    spec_path: str
    estimator_index: int
    estimator: str
    measure: str
    data: str | None = None
    seed: int | None = None
    n: int | None = None
    conjunctuur: str | None = None
    key: str = ""
    #: hash of what the Study is made of (spec, graph, data bytes, twin seed, series)
    study_key: str = ""
    #: the report's language (resolved from --lang, NETTO_LANG, the spec): figures' texts
    lang: str = "en"


@dataclass
class TaskResult:
    task: Task
    estimates: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] | None = None
    seconds: float = 0.0
    error: str | None = None
    cached: bool = False
    cache_dir: str | None = None
    #: the failure is one the user can fix (spec, data, file system): CLI exit code 2
    user_error: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BatchResult:
    results: list[TaskResult]
    spec_errors: list[tuple[str, str]]
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[TaskResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.spec_errors

    def seconds_by_measure(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.results:
            out[r.task.measure] = out.get(r.task.measure, 0.0) + r.seconds
        return out


def plan(targets: list[str | Path], *, data: str | None = None, seed: int | None = None,
         n: int | None = None, conjunctuur: str | None = None,
         estimators: list[str] | None = None,
         lang: str | None = None) -> tuple[list[Task], list[tuple[str, str]]]:
    """Expand spec files/folders into tasks; collect spec errors instead of raising.
    ``lang``: as for :func:`run_batch`, resolved per spec (its ``lang``)."""
    from causal.messages import resolve_lang
    from causal.spec import find_specs, load_spec

    tasks, errors = [], []
    paths: list[Path] = []
    for t in targets:
        try:
            paths += find_specs(t)
        except SpecError as e:
            errors.append((str(t), str(e)))
    seen: dict[str, Path] = {}
    for p in paths:
        try:
            spec = load_spec(p)
            task_lang = resolve_lang(lang, spec.lang)
        except NettoError as e:
            errors.append((str(p), str(e)))
            continue
        first = seen.setdefault(spec.measure, p)
        if first != p:  # two specs, one report folder: refuse rather than merge them
            errors.append((str(p), str(SpecError(
                str(p), "measure", f"the measure id '{spec.measure}' is also used by {first}; "
                "each spec needs its own id (reports/<measure>/ would mix the two)"))))
            continue
        if data is None and spec.simulation is None and not (spec.data and spec.data.path):
            errors.append((str(p), str(SpecError(str(p), "simulation",
                           "no simulation block and no data: give --data FILE"))))
            continue
        for i, est in enumerate(spec.estimators):
            if estimators and est.name not in estimators:
                continue
            tasks.append(Task(str(p), i, est.name, spec.measure, data, seed, n, conjunctuur,
                              task_key(spec, i, data, seed, n, conjunctuur, task_lang),
                              study_key(spec, data, seed, n, conjunctuur), task_lang))
    return tasks, errors


# -- the worker side ----------------------------------------------------------------------
_STUDIES: dict[tuple, Any] = {}


def _study(task: Task):
    from causal.pipeline import prepare

    k = task.study_key or (task.spec_path, task.data, task.seed, task.n, task.conjunctuur)
    if k not in _STUDIES:
        _STUDIES.clear()  # keep one at a time: studies can be large
        _STUDIES[k] = prepare(task.spec_path, task.data, seed=task.seed, n=task.n,
                              conjunctuur=task.conjunctuur)
    return _STUDIES[k]


def run_task(task: Task, cache_root: str) -> TaskResult:
    """Run one measure x estimator task; never raises."""
    from causal.pipeline import run_estimator
    from causal.report.figure_lang import study_names
    from causal.report.writer import render_figures, study_info

    t0 = time.perf_counter()
    cdir = Path(cache_root) / task.key
    tmp = cdir.with_name(cdir.name + f".tmp{os.getpid()}")
    try:
        study = _study(task)
        est_spec = study.spec.estimators[task.estimator_index]
        ests = run_estimator(study, est_spec.name, est_spec.options)
        shutil.rmtree(tmp, ignore_errors=True)
        render_figures(ests, tmp, study.spec.disclosure, task.lang,
                       study_names(study) if task.lang != "en" else ())
        res = TaskResult(task, [_est_state(e) for e in ests], study_info(study),
                         time.perf_counter() - t0, cache_dir=str(cdir))
        (tmp / "result.json").write_text(json.dumps(
            {"estimates": res.estimates, "info": res.info, "seconds": res.seconds},
            default=str, sort_keys=True))
        shutil.rmtree(cdir, ignore_errors=True)
        os.replace(tmp, cdir)
        return res
    except NettoError as e:
        return TaskResult(task, seconds=time.perf_counter() - t0, error=str(e),
                          user_error=is_user_error(e))
    except OSError as e:  # a read-only or full cache folder: the user can fix it
        return TaskResult(task, seconds=time.perf_counter() - t0, user_error=True,
                          error=describe_os_error(e, "write"))
    except Exception as e:  # a bug or a library failure: keep the batch going, say what
        where = (f"\n{traceback.format_exc(limit=3)}" if os.environ.get("NETTO_DEBUG") else
                 " (an internal error in netto or a library it uses; rerun with NETTO_DEBUG=1 "
                 "for the traceback)")
        return TaskResult(task, seconds=time.perf_counter() - t0,
                          error=f"{type(e).__name__}: {e}{where}")
    finally:  # never leave a half-written cache entry behind
        shutil.rmtree(tmp, ignore_errors=True)


def _est_state(e: Estimate) -> dict[str, Any]:
    """Estimate -> plain dict that round-trips through Estimate(**d)."""
    from dataclasses import fields

    from causal.result import _jsonable

    d = {f.name: getattr(e, f.name) for f in fields(e) if f.name not in ("figures", "files")}
    d["diagnostics"] = _jsonable(d["diagnostics"])
    return d


def _cached(task: Task, cache_root: Path) -> TaskResult | None:
    f = cache_root / task.key / "result.json"
    if not f.is_file():
        return None
    try:
        d = json.loads(f.read_text())
    except ValueError:
        return None
    return TaskResult(task, d["estimates"], d["info"], d["seconds"], cached=True,
                      cache_dir=str(f.parent))


# -- the batch ------------------------------------------------------------------------------
#: rough cost of one task by estimator (relative; unknown ones count 1): the batch starts the
#: costliest Studies first so that the last minutes are not one long task on one core
#: (longest-processing-time-first scheduling, Graham 1969)
COST = {"bayesian_multilevel": 12, "pooled_groups": 10, "dml": 6, "propensity_matching": 5,
        "dynamic_matching": 5, "ipw": 4, "aipw": 4, "did": 3, "event_study": 3,
        "synthetic_control": 2, "duration": 2}


def jobs(tasks: list[Task]) -> list[list[Task]]:
    """Tasks grouped by Study (one process prepares it once, and its refuters and sensitivity
    bounds, which every estimator of the Study shares, run once), costliest group first."""
    groups: dict[str, list[Task]] = {}
    for t in tasks:
        groups.setdefault(t.study_key or t.key, []).append(t)
    return sorted(groups.values(), key=lambda g: -sum(COST.get(t.estimator, 1) for t in g))


def run_job(tasks: list[Task], cache_root: str) -> list[TaskResult]:
    """Run the tasks of one Study in this process, in order; never raises."""
    return [run_task(t, cache_root) for t in tasks]


def run_batch(targets: list[str | Path], *, out: str | Path = "reports", data: str | None = None,
              workers: int | None = None, scheduler: Any = None, force: bool = False,
              seed: int | None = None, n: int | None = None, conjunctuur: str | None = None,
              estimators: list[str] | None = None, lang: str | None = None,
              on_start: Callable[[int], None] | None = None,
              on_done: Callable[[TaskResult], None] | None = None) -> BatchResult:
    """Run every task, write each measure's report and the portfolio; see module doc.
    ``lang`` (en, nl): the reports' language (default NETTO_LANG, else the spec's, else en)."""
    from causal.report.portfolio import write_portfolio

    t0 = time.perf_counter()
    out = Path(out)
    cache = out / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    tasks, spec_errors = plan(targets, data=data, seed=seed, n=n, conjunctuur=conjunctuur,
                              estimators=estimators, lang=lang)
    if on_start:
        on_start(len(tasks))
    results: list[TaskResult] = []
    todo = []
    for t in tasks:
        hit = None if force else _cached(t, cache)
        if hit:
            results.append(hit)
            if on_done:
                on_done(hit)
        else:
            todo.append(t)

    def done(rs: list[TaskResult]) -> None:
        for r in rs:
            results.append(r)
            if on_done:
                on_done(r)

    def reports(submit: Callable | None) -> dict[str, tuple]:
        order = {t.key: i for i, t in enumerate(tasks)}
        results.sort(key=lambda r: order[r.task.key])
        by_measure: dict[str, list[TaskResult]] = {}
        for r in results:
            if r.ok:
                by_measure.setdefault(r.task.measure, []).append(r)
        if submit is None:
            return {m: write_measure(rs, str(out), force, lang) for m, rs in by_measure.items()}
        futs = {m: submit(write_measure, rs, str(out), force, lang)
                for m, rs in by_measure.items()}
        return {m: f.result() for m, f in futs.items()}

    w = workers if workers is not None else min(os.cpu_count() or 1, 2)
    if scheduler is not None:
        _run_dask(jobs(todo), str(cache), scheduler, done)
        written = reports(None)
    elif w <= 1 or len(todo) <= 1:
        for job in jobs(todo):
            done(run_job(job, str(cache)))
        written = reports(None)
    else:  # the same worker processes write the measures' reports (figures, xlsx, docx)
        with ProcessPoolExecutor(max_workers=w, mp_context=get_context("spawn")) as ex:
            futs = [ex.submit(run_job, job, str(cache)) for job in jobs(todo)]
            for f in as_completed(futs):
                done(f.result())
            written = reports(ex.submit)

    batch = BatchResult(results, spec_errors)
    for measure, (summary, notice) in written.items():
        batch.summaries[measure] = summary
        if notice:
            batch.notices.append(notice)
    batch.seconds = time.perf_counter() - t0
    write_portfolio(batch, out, lang=lang)
    return batch


def write_measure(rs: list[TaskResult], out: str, force: bool,
                  lang: str | None) -> tuple[dict[str, Any], str | None]:
    """One measure's report folder from its (successful) task results: the report itself,
    the figures rendered into the cache entries, stale files of earlier runs removed."""
    from causal.report.writer import write_measure_report

    ests = [Estimate(**d) for r in rs for d in r.estimates]
    mdir = Path(out) / rs[0].task.measure
    before = _listing(mdir)
    summary, notice = write_measure_report(rs[0].info, ests, mdir, force=force, lang=lang)
    copied = set()
    for r in rs:  # copy rendered figures from the cache entries
        for fpath in Path(r.cache_dir).iterdir():
            if fpath.name != "result.json":
                shutil.copy2(fpath, mdir / fpath.name)
                copied.add(fpath.name)
    remove_stale(mdir, copied, before)
    return summary, notice


def _listing(folder: Path) -> dict[str, int]:
    """Plain files of a folder -> their modification time (ns)."""
    if not folder.is_dir():
        return {}
    return {f.name: f.stat().st_mtime_ns for f in folder.iterdir() if f.is_file()}


def remove_stale(mdir: Path, keep: set[str], before: dict[str, int]) -> list[str]:
    """Remove files of an earlier run from a measure's report folder (figures of an
    estimator since removed from the spec): files that were there ``before`` this run's
    writing, were not rewritten, and were not copied now. Folders and hidden files stay."""
    gone = []
    for name, mtime in _listing(mdir).items():
        if name in before and before[name] == mtime and name not in keep \
                and not name.startswith("."):
            (mdir / name).unlink(missing_ok=True)
            gone.append(name)
    return gone


def _run_dask(groups: list[list[Task]], cache: str, scheduler: Any, done: Callable) -> None:
    from distributed import Client
    from distributed import as_completed as dask_completed

    own = not hasattr(scheduler, "submit")
    client = Client(scheduler) if own else scheduler
    try:
        futs = [client.submit(run_job, g, cache, pure=False, key=f"{g[0].measure}-{g[0].key}")
                for g in groups]
        for f in dask_completed(futs):
            done(f.result())
    finally:
        if own:
            client.close()
