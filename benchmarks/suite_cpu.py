"""CPU seconds per test of the pytest suite (issue 18), load-robust: a pytest plugin that
appends, per test item (setup and teardown included, so a session fixture is charged to the
first test that uses it), the process's user + system CPU and its waited-for children's to
``<SUITE_CPU_OUT>-<worker>.jsonl``; ``--render`` prints the totals by file and the slowest
items. Wall times on a shared machine say little; CPU per test does not depend on the load.

    PYTHONPATH=$PWD:$PWD/benchmarks SUITE_CPU_OUT=/tmp/suite-cpu python -m pytest -n 2 \
        --dist loadgroup --no-loadscope-reorder -q -p suite_cpu tests/ --nbmake notebooks/
    python benchmarks/suite_cpu.py --render /tmp/suite-cpu
"""
from __future__ import annotations

import collections
import glob
import json
import os
import sys

import pytest


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    c0, w0 = _cpu(), os.times().elapsed
    yield
    out = os.environ.get("SUITE_CPU_OUT", "/tmp/suite-cpu")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"{out}-{worker}.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps([item.nodeid, round(_cpu() - c0, 2),
                            round(os.times().elapsed - w0, 2)]) + "\n")


def render(prefix: str, top: int = 30) -> None:
    rows = [json.loads(line) for p in sorted(glob.glob(f"{prefix}-*.jsonl"))
            for line in open(p, encoding="utf-8")]
    by_file = collections.Counter()
    for nodeid, cpu, _ in rows:
        by_file[nodeid.split("::")[0]] += cpu
    print(f"{len(rows)} items, {sum(r[1] for r in rows):.0f} CPU-s")
    for f, c in by_file.most_common(top):
        print(f"{c:8.1f}  {f}")
    print()
    for nodeid, cpu, wall in sorted(rows, key=lambda r: -r[1])[:top]:
        print(f"{cpu:8.2f}  {wall:8.2f}  {nodeid.split('@')[0]}")


if __name__ == "__main__" and sys.argv[1:2] == ["--render"]:
    render(sys.argv[2] if len(sys.argv) > 2 else "/tmp/suite-cpu")
