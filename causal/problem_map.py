"""The map of the seed reports' estimation problems: which spec answers each, and how.

``data_specs/problems/seed_problems.yaml`` lists every estimation problem that section 8 of
the seed notes poses (report, number, title) and the spec(s) in ``data_specs/`` that answer
it. :func:`render` joins it with the specs into ``docs/measures.md``: one row per problem with
the design, the spec, the answer (a net effect the spec's estimators give, or "not
identified" with the spec's reason) and what would settle it (the spec's
``identification.settle``, with the trial size from :mod:`causal.power`). ``causal measures``
writes the page; ``causal measures --check`` exits 1 when it is stale (the test suite runs
the same check).
"""
from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from causal.errors import SpecError
from causal.spec import Spec, load_spec, read_yaml
from causal.spec_errors import spec_errors

#: the problems file and the page, relative to the repository root
PROBLEMS = Path("data_specs/problems/seed_problems.yaml")
PAGE = Path("docs/measures.md")


class Problem(BaseModel):
    """One estimation problem of a seed report."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="report-number, e.g. 000-EP3, 002-5, 003-P10")
    title: str
    specs: list[str] = Field(min_length=1)
    pending: str | None = Field(None, description="Who is writing a spec not yet in data_specs/.")
    note: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not re.fullmatch(r"\d{3}-[A-Z]*\d+", v):
            raise ValueError("an id such as 000-EP3, 002-5 or 003-P10")
        return v

    @property
    def report(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def number(self) -> str:
        return self.id.split("-", 1)[1]


class Problems(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reports: dict[str, str]
    problems: list[Problem]


def load_problems(path: str | Path) -> Problems:
    """Read and validate the problems file (a SpecError names the field on a mistake)."""
    data, lines = read_yaml(Path(path))
    try:
        out = Problems.model_validate(data)
    except ValidationError as e:  # every mistake, with its line, in plain words
        raise spec_errors(e, Path(path), lines, Problems) from None
    seen: set[str] = set()
    for p in out.problems:
        if p.id in seen:
            raise SpecError(str(path), "problems", f"the problem id {p.id} appears twice")
        if p.report not in out.reports:
            raise SpecError(str(path), "problems", f"{p.id}: report {p.report} is not in reports")
        seen.add(p.id)
    return out


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return re.sub(r"\s+", " ", text).strip().replace("|", "\\|")


def _design(spec: Spec) -> str:
    ests = [e.name for e in spec.estimators if e.name != "naive"]
    if spec.identification.status == "not_identified":
        return (f"{spec.treatment.assignment}, not identified: the naive contrast is shown"
                + (f", {', '.join(ests)} refused" if ests else ""))
    return f"{spec.treatment.assignment}: {', '.join(ests or ['naive only'])}"


def _answer(spec: Spec) -> str:
    if spec.identification.status == "not_identified":
        return f"not identified: {spec.identification.reason}"
    ests = [e.name for e in spec.estimators if e.name != "naive"]
    return f"estimate: net effect by {', '.join(ests) or 'naive'} (reports/{spec.measure}/)"


def _settle(spec: Spec) -> str:
    from causal.report.writer import settle_info

    info = settle_info(spec)
    if info is None:
        return "-"
    text = f"{info['design']} Data: {info['data']}"
    if info.get("size_sentence"):
        text += f" Size: {info['size_sentence']}."
    return text


def rows(problems: Problems, specs_dir: str | Path) -> list[dict[str, str]]:
    """One row per problem. A spec that does not exist is an error unless the problem says
    who is writing it (``pending``)."""
    specs_dir = Path(specs_dir)
    cache: dict[str, Spec | None] = {}
    out = []
    for p in problems.problems:
        parts: dict[str, list[str]] = {"design": [], "answer": [], "settle": []}
        names = []
        for name in p.specs:
            if name not in cache:
                f = specs_dir / f"{name}.yaml"
                cache[name] = load_spec(f, check_files=False) if f.is_file() else None
            spec = cache[name]
            if spec is None:
                if not p.pending:
                    raise SpecError(str(specs_dir / f"{name}.yaml"), "(file)",
                                    f"problem {p.id} names this spec, which does not exist")
                names.append(f"`{name}` (pending)")
                parts["answer"].append(f"pending: {p.pending}")
                continue
            names.append(f"`{name}`")
            parts["design"].append(_design(spec))
            parts["answer"].append(_answer(spec))
            settle = _settle(spec)
            if settle != "-":
                parts["settle"].append(settle)
        answer = " / ".join(parts["answer"])
        if p.note:
            answer += f". Note: {p.note}"
        out.append({"report": p.report, "problem": p.number, "measure": p.title,
                    "design": " / ".join(parts["design"]) or "-",
                    "spec": ", ".join(names), "answer": answer,
                    "settle": " / ".join(parts["settle"]) or "-"})
    return out


def render(problems_path: str | Path = PROBLEMS, specs_dir: str | Path = "data_specs") -> str:
    """The Markdown page: per report, a table with one row per problem."""
    problems = load_problems(problems_path)
    table = rows(problems, specs_dir)
    n_not = sum(r["answer"].startswith("not identified") for r in table)
    lines = [
        "# Estimation problems of the seed reports, and the specs that answer them",
        "",
        "Generated by `causal measures` from `data_specs/problems/seed_problems.yaml` and the",
        "specs in `data_specs/`; do not edit by hand (`causal measures --check` and the test",
        "suite fail when this page is stale). The problems are those of section 8 of each",
        "seed note (`../shared/seed-notes/`). An answer is either a net effect that the",
        "spec's estimators give (on its synthetic twin; on real data with `--data`) or",
        "\"not identified\" with the reason the report's data cannot give one, and the",
        "design, data and trial size that would settle it.",
        "",
        f"{len(table)} problems; {n_not} not identified from the data the report describes.",
        "",
    ]
    for rep, title in problems.reports.items():
        mine = [r for r in table if r["report"] == rep]
        lines += [f"## {rep}: {title}", "",
                  "| report | problem | measure | design | spec | answer | what would settle it |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += ["| " + " | ".join(_cell(r[k]) for k in ("report", "problem", "measure",
                                                           "design", "spec", "answer",
                                                           "settle")) + " |" for r in mine]
        lines.append("")
    return "\n".join(lines)
