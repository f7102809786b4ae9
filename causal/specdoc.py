"""The spec reference (``docs/spec.md``) and JSON Schema (``docs/spec.schema.json``),
generated from the pydantic models in :mod:`causal.spec`, so they cannot drift from what
``load_spec`` accepts. ``causal schema`` prints the schema; ``causal schema --markdown``
the reference; a test fails when the files in ``docs/`` are stale.

Hand-written walk over ``model_fields``: pydantic gives the JSON Schema but no reader-facing
reference, and the JSON Schema's nested ``$defs`` are hard for a researcher to read.
"""
from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

#: path of the schema relative to a bundled spec (the yaml-language-server comment)
SCHEMA_COMMENT = "# yaml-language-server: $schema=../docs/spec.schema.json"
DOCS = Path(__file__).resolve().parents[1] / "docs"


def schema() -> dict[str, Any]:
    """pydantic's JSON Schema of a spec, titled for editors."""
    from causal.spec import Spec

    s = Spec.model_json_schema()
    s["title"] = "netto measure spec"
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return s


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


#: meanings of fields whose model gives none (kept here so spec.py stays lean)
NOTES = {
    "Spec.measure": "The measure's id: lower-case letters, digits and '_'; names the report "
                    "folder, so each spec needs its own.",
    "Spec.title": "The measure's name as reports show it.",
    "Spec.source": "The evaluation report the measure comes from, and where in it.",
    "Spec.population": "Who the measure is for; rows outside are excluded (and counted).",
    "Spec.treatment": "Who took part, and how participation was assigned.",
    "Spec.outcome": "What the measure should change.",
    "Spec.region": "Column with the region (one of the 35 arbeidsmarktregio's, or a "
                   "municipality); used for small-cell checks and region-varying effects.",
    "Spec.graph": "The causal graph (.dot or .gml, relative to the spec file); nodes not in "
                  "the data are unobserved (mark them `[observed=\"no\"]`).",
    "Spec.estimators": "The estimators to run, each with its options (`causal estimators`).",
    "Spec.reported": "Gross figures the evaluation report published, with their citation.",
    "Spec.simulation": "Parameters of the synthetic twin (used when no data file is given).",
    "Spec.data": "The data file and how to read it: column mapping, types, missing codes.",
    "Spec.context": "Where the context confounders months_to_aow and conjunctuur come from; "
                    "needed only when the confounders name them.",
    "Spec.identification": "Whether the design identifies the effect, or an adjustment set "
                           "that overrides the graph.",
    "Spec.disclosure": "Statistical disclosure control for everything written.",
    "Spec.notes": "Free text shown in the report.",
    "Population.description": "Who the population is, in words.",
    "Population.conditions": "Conditions each row must meet (a range or a list of values).",
    "Condition.column": "The column the condition is on.",
    "Condition.min": "Smallest allowed value (inclusive).",
    "Condition.max": "Largest allowed value (inclusive).",
    "Condition.in": "The allowed values.",
    "Treatment.column": "Column with 0/1 (or true/false): assigned to or took part in the "
                        "measure.",
    "Treatment.assignment": "How participation came about: randomized (a lottery or BSN "
                            "digit), observational (chosen), threshold (an age or score "
                            "cut-off), staggered or policy_change (over time), dose "
                            "(intensity), universal (everyone), series or groups "
                            "(aggregate data).",
    "Treatment.description": "What the measure is, in words.",
    "Outcome.column": "The outcome column.",
    "Outcome.kind": "binary (0/1; effects in percentage points), continuous (a number, e.g. "
                    "earnings; effects in `unit`), or duration (time to an event).",
    "Outcome.horizon_months": "Months after inflow within which the outcome is measured.",
    "EstimatorSpec.name": "An estimator (`causal estimators` lists them).",
    "EstimatorSpec.options": "The estimator's options (`causal estimators NAME`).",
    "Reported.label": "What the figure is, in the report's words.",
    "Reported.value": "The figure.",
    "Reported.unit": "Its unit.",
    "Reported.n": "The number of persons it rests on, if the report says.",
    "Reported.citation": "Where in the report (section, table, page).",
    "ConjunctuurSpec.indicator": "Column of the series to use.",
    "Context.birth_date": "Column with the birth date (full dates, not a year).",
    "Context.reference_date": "Column with the date the conjunctuur and AOW distance are "
                              "taken at (usually the inflow date).",
    "Context.conjunctuur": "The unemployment series.",
    "Identification.status": "identified, or not_identified (then say why in reason).",
    "Identification.reason": "Why the design does not identify the effect.",
    "Identification.adjustment_reason": "Why the adjustment set overrides the graph.",
    "Disclosure.min_cell": "No number written rests on fewer persons than this.",
    "Simulation.generator": "The twin generator (individual, panel, threshold, duration, "
                            "regions, ...).",
    "Simulation.n": "Persons in the twin.",
    "Simulation.seed": "Random seed (same seed, same twin).",
}


def _type(ann: Any) -> str:
    """An annotation in plain words."""
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if ann is type(None):
        return "nothing"
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [_type(a) for a in args if a is not type(None)]
        return " or ".join(parts)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (list, tuple):
        return "list of " + (_type(args[0]) if args else "values")
    if origin is dict:
        return f"mapping of {_type(args[0])} to {_type(args[1])}" if args else "mapping"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"block [{ann.__name__}](#{ann.__name__.lower()})"
    return {str: "text", int: "whole number", float: "number", bool: "true/false",
            Any: "any value"}.get(ann, getattr(ann, "__name__", str(ann)))


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """The root model and every model it reaches, in order of first use."""
    seen: list[type[BaseModel]] = []

    def walk(ann: Any) -> None:
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if ann not in seen:
                seen.append(ann)
                for f in ann.model_fields.values():
                    walk(f.annotation)
            return
        for a in typing.get_args(ann):
            walk(a)

    walk(root)
    return seen


def _default(f) -> str:
    if f.is_required():
        return "**required**"
    if f.default_factory is not None:
        v = f.default_factory()
        return "empty" if v in ([], {}) else ("block defaults" if isinstance(v, BaseModel)
                                              else f"`{v}`")
    if f.default is None or f.default is PydanticUndefined:
        return "-"
    if f.default == "":
        return "empty"
    return f"`{f.default}`"


def _doc(cls: type[BaseModel]) -> str:
    return " ".join((cls.__doc__ or "").split())


def markdown() -> str:
    """The spec reference: one table per block, fields with type, default and meaning."""
    from causal.spec import Spec

    out = ["# The measure spec", "",
           "Generated from the models in `causal/spec.py` by `causal schema --markdown`; do "
           "not edit by hand (a test fails when this file is stale). Editors that speak the "
           "YAML language server complete and check specs against `docs/spec.schema.json` "
           f"(bundled specs start with `{SCHEMA_COMMENT}`). Unknown keys are errors. "
           "`causal init DATAFILE` writes a first spec for a data file.", ""]
    for cls in _models(Spec):
        out += [f"## {cls.__name__}", ""]
        if _doc(cls):
            out += [_doc(cls), ""]
        if cls.model_config.get("extra") == "allow":
            out += ["Further keys are allowed here (checked by the chosen generator).", ""]
        out += ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
        for name, f in cls.model_fields.items():
            key = f.alias or name
            desc = " ".join((f.description or NOTES.get(f"{cls.__name__}.{key}", ""))
                            .split()).replace("|", "\\|")
            out.append(f"| `{key}` | {_type(f.annotation).replace('|', '/')} | "
                       f"{_default(f)} | {desc} |")
        out.append("")
    return "\n".join(out)


def write(docs: Path = DOCS) -> list[Path]:
    """Regenerate docs/spec.md and docs/spec.schema.json."""
    docs.mkdir(parents=True, exist_ok=True)
    a, b = docs / "spec.md", docs / "spec.schema.json"
    a.write_text(markdown(), encoding="utf-8")
    b.write_text(schema_text(), encoding="utf-8")
    return [a, b]


if __name__ == "__main__":  # pragma: no cover
    for p in write():
        print(f"wrote {p}")
