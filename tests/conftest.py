"""Shared fixtures. Tests run on synthetic twins and small hand-made data only."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "data_specs"
ALMERE = SPECS / "almere_aanpak45plus.yaml"


def fit_estimates(study, name: str, options: dict | None = None) -> list:
    """One estimator's estimates on a study, its options validated as the pipeline does, but
    without the pipeline's annotations (E-values, sensitivity bounds, assumptions, costs: they
    leave the estimate and its interval unchanged and are tested in test_sensitivity and
    test_costs). For coverage studies over many twins, where those annotations were about
    half the time and nothing the test reads."""
    from causal import estimators as registry

    info = registry.get(name)
    return info.fit(study, info.options.model_validate(
        {**study.spec.estimator_options(name), **(options or {})}))


@pytest.fixture
def spec_copy(tmp_path: Path):
    """Copy a bundled spec (and the models folder) into tmp_path, so tests can edit it."""

    def _copy(name: str = "almere_aanpak45plus.yaml") -> Path:
        (tmp_path / "data_specs").mkdir(exist_ok=True)
        if not (tmp_path / "models").exists():
            shutil.copytree(ROOT / "models", tmp_path / "models")
        dst = tmp_path / "data_specs" / name
        shutil.copy(SPECS / name, dst)
        return dst

    return _copy


@pytest.fixture(scope="session")
def bundled_reports(tmp_path_factory):
    """Every bundled spec on its small twin (n = 600), run once per session: the batch result
    and its report folder (English pages). Shared by the disclosure audit and the Dutch
    rendering check, so the suite runs the whole batch only once."""
    from causal.batch import run_batch

    out = tmp_path_factory.mktemp("bundled") / "r"
    batch = run_batch([SPECS], out=out, workers=1, n=600)
    return batch, out


# -- how `make test` spreads the suite over its xdist workers (--dist loadgroup) ---------------
#: groups started first, longest first (order only: a wrong entry costs time, never a result)
FIRST = ("bundled_reports", "tests/test_multilevel.py", "tests/test_no_compiler.py",
         "tests/test_wheelhouse.py", "notebooks/", "tests/test_notebooks.py::test_figure",
         "tests/test_dml.py::test_dml_covers", "tests/test_weighting.py::test_aipw_covers",
         "tests/test_weighting.py::test_ipw_covers", "tests/test_pooling.py::test_pooled_groups_rec",
         "tests/test_rct.py", "tests/test_rdd.py::test_rdd_covers",
         "tests/test_rdd.py::test_rdd_not_fooled", "tests/test_batch.py::test_process_pool")
_BUILTIN = {"tmp_path_factory", "worker_id", "testrun_uid", "monkeypatch_session"}


def _group(item: pytest.Item) -> str | None:
    """The xdist group an item must share a worker with: the name of a session fixture it
    uses (computed once per worker), its file where it uses a module- or class-scoped
    fixture, else none (the item is scheduled on its own, so a long file no longer sets the
    suite's length as it did under --dist loadfile)."""
    defs = getattr(item, "_fixtureinfo", None)
    if defs is None:
        return None
    session, module = set(), False
    for name, fdefs in defs.name2fixturedefs.items():
        scope = fdefs[-1].scope if fdefs else "function"
        if scope == "session" and name not in _BUILTIN and not name.startswith("_"):
            session.add(name)
        elif scope in ("module", "class", "package"):
            module = True
    if session:
        return "_".join(sorted(session))
    return item.nodeid.split("::")[0] if module else None


def _suffix_group(item: pytest.Item, group: str) -> None:
    """Give the item the ``@group`` nodeid suffix loadgroup schedules by. xdist 3.8 writes it
    to ``item._nodeid``, which pytest 9.2's structured node ids no longer read, so the marks
    were silently ignored (pytest-xdist issue 1386; its fix, PR 1388, writes ``_id``)."""
    if hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(f"{item.nodeid}@{group}")
    else:
        item._nodeid = f"{item.nodeid}@{group}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark each item's xdist group (see _group) and start the long groups first (with
    --no-loadscope-reorder, xdist hands out groups in collection order). Runs before xdist
    reads the marks; the same order on every worker."""
    rank = {}
    for item in items:
        g = _group(item)
        key = g or item.nodeid
        if g and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(g))
            if config.getoption("loadgroup", False):  # on an xdist worker under loadgroup
                _suffix_group(item, g)
        rank[item.nodeid] = next((k for k, f in enumerate(FIRST) if key.startswith(f)),
                                 len(FIRST))
    items.sort(key=lambda it: rank[it.nodeid])  # stable: file order kept within a rank
    _drop_twice_run_notebooks(config, items)


def _drop_twice_run_notebooks(config, items) -> None:
    """A notebook tests/test_notebooks.py executes (and checks its figures) in this session is
    not executed a second time by nbmake (`make test`'s --nbmake notebooks/): both fail on
    any cell's error, the test's check is the stronger one."""
    executed = {Path(it.callspec.params["path"]).name for it in items
                if it.nodeid.startswith("tests/test_notebooks.py::test_figure_cells_show_an_image")}
    twice = [it for it in items if getattr(it, "nbmake", False)
             and Path(str(getattr(it, "filename", ""))).name in executed]
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = [it for it in items if it not in twice]
