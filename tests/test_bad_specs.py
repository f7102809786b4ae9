"""Property test: mutated specs never end in a traceback.

Hypothesis derives specs from the bundled ones and breaks them: missing fields, wrong types,
unknown keys, huge numbers, empty lists, unicode, paths outside the project, deep nesting,
and broken YAML text. Each goes to ``causal check`` and ``causal run`` (a small twin and one
cheap estimator), in-process through typer's CliRunner. Every one
must end in a clear message and a non-zero exit, or exit 0 for a mutation that stays valid;
never a traceback, never an internal error (exit 3).

The default suite runs a light fuzz (100 check, 10 run examples) so ``make test`` stays fast;
the heavy fuzz is behind ``NETTO_FUZZ``: ``NETTO_FUZZ=1`` gives 2,000 check and 60 run examples
(``make fuzz``), ``NETTO_FUZZ=10`` ten times as many.
"""
from __future__ import annotations

import copy
import itertools
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from causal.cli import app
from tests.conftest import ROOT, SPECS

SCALE = float(os.environ.get("NETTO_FUZZ") or 0)   # 0: the light default fuzz
BUNDLED = sorted(SPECS.glob("*.yaml"))
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in BUNDLED}
#: cheap estimators to run per bundled spec (the first of the spec's that is not slow)
SLOW = {"bayesian_multilevel", "dml"}
_COUNTER = itertools.count()

PATHS = ["../../../../../../etc/passwd", "/etc/hosts", "/etc", "../models", "/nonexistent/x.dot",
         "../models/does_not_exist.dot", "~/x.csv", "C:\\Windows\\win.ini", "x" * 300 + ".dot",
         "../" * 40 + "etc/passwd.csv", "data.csv", "a\tb.gml", "é/ü.parquet", "/tmp"]
ODD_STRINGS = ["", " ", "ü漢字🙂", "x" * 5000, "2018-01-01", "yes", "null", "~", "1e400",
               "NaN", "-", "{", "]", "a: b", "%", "!!python/object:os.system", "\u202e",
               "None", "0x10", "1_000"]


def _deep(k: int) -> Any:
    out: Any = 1
    for i in range(k):
        out = [out] if i % 2 else {"a": out}
    return out


WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, 1e308, float("nan"), float("inf"),
                     -float("inf"), -0.0, 1e-320]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(PATHS), st.sampled_from(ODD_STRINGS),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from([_deep(30), _deep(150), [], {}, [[]], [{}], {"": None}]),
).map(copy.deepcopy)  # fresh objects: mutations must not leak into the next example


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


@st.composite
def mutated_spec(draw) -> tuple[str, str]:
    """(bundled spec name, text of a mutated version)."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    data = yaml.safe_load(TEXTS[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["delete", "replace", "replace", "unknown_key", "empty",
                                   "wrap", "rename", "top"]))
        if op == "top":
            data = draw(st.one_of(WEIRD, st.just([data])))
            break
        if not path:
            continue
        parent, key = _get(data, path[:-1]), path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(WEIRD)
        elif op == "unknown_key":
            target = parent[key] if isinstance(parent[key], dict) else parent
            if isinstance(target, dict):
                target[draw(st.sampled_from(["colour", "Measure", "estimator", "ü", "",
                                             "treatment ", "42"]))] = draw(WEIRD)
        elif op == "empty":
            v = parent[key]
            parent[key] = type(v)() if isinstance(v, (list, dict, str)) else None
        elif op == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"value": parent[key]}]))
        elif op == "rename" and isinstance(parent, dict):
            parent[str(key) + draw(st.sampled_from(["s", "_", " ", "X"]))] = parent.pop(key)
        if not isinstance(data, (dict, list)):
            break
    try:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, RecursionError):
        text = TEXTS[name]
    # text-level damage: truncation, stray characters, tabs, a lost line
    how = draw(st.sampled_from(["none", "none", "none", "truncate", "insert", "tab", "dropline",
                                "garbage"]))
    if how != "none" and text:
        i = draw(st.integers(0, len(text) - 1))
        if how == "truncate":
            text = text[:i]
        elif how == "insert":
            text = text[:i] + draw(st.sampled_from([":", "- ", "\t", "{", "'", "&a", "*a", "|",
                                                    "\n  x: 1\n", "!!binary", "\x00"])) + text[i:]
        elif how == "tab":
            text = text[:i] + "\t" + text[i:]
        elif how == "dropline":
            lines = text.splitlines(True)
            del lines[i % len(lines)]
            text = "".join(lines)
        else:
            text = text[:i] + draw(st.text(min_size=1, max_size=8)) + text[i:]
    return name, text


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A copy of data_specs/ and models/ so relative graph paths resolve."""
    d = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "models", d / "models")
    (d / "data_specs").mkdir()
    return d


def _write(workdir: Path, text: str) -> Path:
    p = workdir / "data_specs" / f"m{next(_COUNTER)}.yaml"
    with open(p, "w", encoding="utf-8", errors="surrogatepass") as f:
        f.write(text)
    return p


def _assert_clean(r, what: str, path: Path) -> None:
    out = (r.stdout or "") + (r.stderr or "")
    assert r.exception is None or isinstance(r.exception, SystemExit), (
        what, type(r.exception), r.exception, path.read_text(errors="replace")[:2000])
    assert "Traceback" not in out, (what, out[-3000:])
    assert "internal error" not in out, (what, out[-3000:])  # a bug, even inside a batch task
    assert r.exit_code != 3, (what, out[-3000:])
    if r.exit_code != 0:
        assert "error" in out.lower() or "failed" in out.lower(), (what, out[-2000:])


CHECK = settings(max_examples=int(2000 * SCALE) if SCALE else 100, deadline=None,
                 derandomize=True, suppress_health_check=list(HealthCheck))
RUN = settings(max_examples=int(60 * SCALE) if SCALE else 10, deadline=None, derandomize=True,
               suppress_health_check=list(HealthCheck))


@CHECK
@given(case=mutated_spec())
def test_check_never_tracebacks(workdir, case):
    _, text = case
    p = _write(workdir, text)
    r = CliRunner().invoke(app, ["check", str(p)])
    _assert_clean(r, "check", p)
    if r.exit_code != 0:  # the message names the file
        assert p.name in (r.stdout + r.stderr).replace("\n", ""), r.output


def _cheap_estimator(name: str) -> str:
    data = yaml.safe_load(TEXTS[name])
    return next((e["name"] for e in data["estimators"] if e["name"] not in SLOW), "naive")


@RUN
@given(case=mutated_spec())
def test_run_never_tracebacks(workdir, case):
    name, text = case
    p = _write(workdir, text)
    out = workdir / "reports"
    r = CliRunner().invoke(app, ["run", str(p), "--out", str(out), "-w", "1", "-q", "--n", "200",
                                 "-e", _cheap_estimator(name), "--force"])
    _assert_clean(r, "run", p)


def test_alias_bomb_is_refused_quickly(workdir):
    """A 'billion laughs' YAML must not expand into memory or time."""
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},"
                     f"*{prev},*{prev}]")
    base = yaml.safe_load(TEXTS["almere_aanpak45plus.yaml"])
    text = "\n".join(lines) + "\n" + yaml.safe_dump(base, sort_keys=False)
    text = text.replace("notes:", "x_notes:") + "\nnotes: *i\n"
    p = _write(workdir, text)
    r = CliRunner().invoke(app, ["check", str(p)])
    _assert_clean(r, "check", p)
    assert r.exit_code == 2


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00m\x00e", b"measure: \xe9t\xe9\n", b"\x00\x01\x02",
                                 b"", b"---\n...\n", b"- a\n- b\n", b"just a string",
                                 b"[" * 5000, b"{a: " * 3000, b"- []:\n", b"measure: x\n[a, b]: 1\n"])
def test_raw_bytes(workdir, raw):
    p = workdir / "data_specs" / f"raw{next(_COUNTER)}.yaml"
    p.write_bytes(raw)
    r = CliRunner().invoke(app, ["check", str(p)])
    _assert_clean(r, "check", p)
    assert r.exit_code == 2


def test_bundled_specs_pass_check(workdir):
    """The harness itself: an unchanged bundled spec passes check with exit 0."""
    for name, text in TEXTS.items():
        p = _write(workdir, text)
        r = CliRunner().invoke(app, ["check", str(p)])
        assert r.exit_code == 0, (name, r.output)
