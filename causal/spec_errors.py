"""Spec validation errors in plain words: pydantic's errors become :class:`SpecError` s that
name the file, the field path, the line and what was expected (never a Python class), with a
'did you mean' for near misses of field names and allowed values."""
from __future__ import annotations

import functools
import re
from pathlib import Path

from pydantic import (
    BaseModel,
    ValidationError,
)

from causal.errors import SpecError


def _path_str(loc: tuple) -> str:
    s = ""
    for part in loc:
        s += f"[{part}]" if isinstance(part, int) else (f".{part}" if s else str(part))
    return s or "(top level)"


_PLAIN_TYPES = {
    "list_type": "a list ([a, b], or one '- item' per line)",
    "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "dict_type": "a block of 'key: value' lines",
}


@functools.lru_cache(maxsize=8)
def _models(root: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every model class reachable from ``root`` through its fields, by class name (walked
    once per root; callers only read the result)."""
    import typing

    out: dict[str, type[BaseModel]] = {}
    todo = [root]
    while todo:
        cls = todo.pop()
        if cls.__name__ in out:
            continue
        out[cls.__name__] = cls
        for f in cls.model_fields.values():
            cands = [f.annotation, *typing.get_args(f.annotation)]
            cands += [a for c in list(cands) for a in typing.get_args(c)]
            todo += [c for c in cands if isinstance(c, type) and issubclass(c, BaseModel)]
    return out


def _expected(err: dict, root: type[BaseModel]) -> str:
    """What was expected, in plain words (field names and values, never Python classes)."""
    t, msg = err["type"], err["msg"]
    if t == "missing":
        return "is required but missing"
    if t == "extra_forbidden":
        return "is not a known field (check the spelling; unknown keys are not allowed)"
    if t == "literal_error":
        return "expected " + msg.replace("Input should be ", "one of ")
    if t == "value_error":  # our own validators: the message says what was expected
        return "expected " + msg.removeprefix("Value error, ")
    if t == "model_type":  # "a valid dictionary or instance of Source"
        cls = _models(root).get((err.get("ctx") or {}).get("class_name", ""))
        fields = ", ".join(cls.model_fields) if cls is not None else ""
        return "expected a block of 'key: value' lines" + (f" (fields: {fields})" if fields
                                                            else "")
    if t in _PLAIN_TYPES:
        return "expected " + _PLAIN_TYPES[t]
    if msg.startswith("Input should be "):
        return "expected " + msg.removeprefix("Input should be ")
    return "expected " + msg[0].lower() + msg[1:] if msg else "invalid value"


def _did_you_mean(err: dict, root: type[BaseModel]) -> str:
    """' (did you mean ...?)' for a near miss of an allowed value or a known field."""
    import difflib

    got = err.get("input")
    options: list[str] = []
    if err["type"] == "literal_error" and isinstance(got, str):
        options = re.findall(r"'([^']*)'", (err.get("ctx") or {}).get("expected", ""))
    if err["type"] == "extra_forbidden" and err["loc"]:
        got = str(err["loc"][-1])
        parent = _model_at(tuple(err["loc"][:-1]), root)
        options = list(parent.model_fields) if parent is not None else []
    near = difflib.get_close_matches(str(got), options, n=1, cutoff=0.7) if options else []
    return f" (did you mean '{near[0]}'?)" if near else ""


def _model_at(loc: tuple, root: type[BaseModel]):
    """The model class a field path points into (for the names of its fields)."""
    import typing

    cls = root
    for part in loc:
        if isinstance(part, int):
            continue
        f = cls.model_fields.get(part) if cls is not None else None
        if f is None:
            return None
        ann = f.annotation
        cands = [ann, *typing.get_args(ann)]
        cands += [a for c in list(cands) for a in typing.get_args(c)]
        cls = next((c for c in cands if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return cls


def _clean_loc(loc: tuple, root: type[BaseModel]) -> tuple:
    """A pydantic error location without the union-member tags it adds
    (``literal['numeric', ...]``, ``ColumnDecl``, ``function-after[...]``)."""
    models = set(_models(root))
    return tuple(p for p in loc if not (isinstance(p, str) and (
        p in models or "[" in p or p in ("str", "int", "float", "bool", "none"))))


def spec_errors(e: ValidationError, path: Path, lines: dict,
                root: type[BaseModel]) -> SpecError:
    """All of a spec's validation errors (of the model ``root``) as one SpecError (one line
    each), deduplicated by field (a union field reports each alternative; the first one is
    shown)."""
    out: list[SpecError] = []
    seen: set[tuple] = set()
    for err in e.errors():
        loc = _clean_loc(tuple(err["loc"]), root)
        if loc in seen:
            continue
        seen.add(loc)
        line = lines.get(loc) or lines.get(loc[:-1])
        got = err.get("input")
        if err["type"] == "missing" or isinstance(got, dict):
            got = None
        out.append(SpecError(str(path), _path_str(loc), _expected(err, root) + _did_you_mean(err, root),
                             line=line, got=got))
    out.sort(key=lambda x: x.line or 0)
    return out[0] if len(out) == 1 else SpecErrors(out)


class SpecErrors(SpecError):
    """Several problems in one spec, all shown at once (the first one's fields are kept)."""

    def __init__(self, errors: list[SpecError]) -> None:
        first = errors[0]
        self.errors = errors
        self.file, self.field, self.expected = first.file, first.field, first.expected
        self.line, self.got = first.line, first.got
        lines = [str(x).removeprefix(first.file).lstrip(", ").removeprefix(": ")
                 for x in errors]
        Exception.__init__(self, f"{first.file}: {len(errors)} problems:\n"
                           + "\n".join(f"  - {x}" for x in lines))


