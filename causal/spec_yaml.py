"""Reading spec YAML safely: ``yaml.safe_load`` semantics only (no Python tags), duplicate
keys refused, alias expansion bounded (a "billion laughs" document is an error), and an index
from field path to line number for error messages."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from causal.errors import SpecError


# --------------------------------------------------------------------------------------
# Loading, with line numbers for errors
# --------------------------------------------------------------------------------------
class _NoDupSafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that refuses duplicate keys (a silent overwrite is a typo that passes);
    libyaml's parser where PyYAML has it (the same documents, many times faster)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:  # a list or mapping as a key: '[a]: 1', '- []:'
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a plain value, not a {type(key).__name__}",
                key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first on line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_NoDupSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


#: a spec expands to a few hundred values; more than this is an alias bomb ("billion laughs")
MAX_YAML_VALUES = 100_000


def _expanded_size(node: yaml.Node | None, memo: dict[int, int] | None = None) -> int:
    """Number of values the document holds once aliases are expanded, computed once per
    distinct node (so an alias bomb is measured without being expanded)."""
    memo = {} if memo is None else memo
    if node is None:
        return 0
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node that contains itself counts once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, memo) for v in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


def _line_index(node: yaml.Node | None, prefix: tuple = (), out: dict | None = None) -> dict:
    """Map every field path (tuple of keys/indices) to its 1-based line in the YAML file."""
    out = {} if out is None else out
    if node is None or len(out) > MAX_YAML_VALUES:
        return out
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[prefix + (key,)] = k.start_mark.line + 1
            _line_index(v, prefix + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _line_index(v, prefix + (i,), out)
    return out



def read_yaml(path: Path) -> tuple[Any, dict]:
    """Read YAML safely; return the data and a field-path -> line index."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "(file)", "the spec file does not exist") from None
    except IsADirectoryError:
        raise SpecError(str(path), "(file)", "expected a YAML file, got a folder") from None
    except UnicodeDecodeError as e:
        raise SpecError(str(path), "(file)", f"the file is not UTF-8 text ({e.reason})") from None
    try:
        node = yaml.compose(text, Loader=_NoDupSafeLoader)
        if _expanded_size(node) > MAX_YAML_VALUES:
            raise SpecError(str(path), "(yaml)", f"the document expands to more than "
                            f"{MAX_YAML_VALUES} values through its aliases (&anchor/*alias); "
                            "a spec needs a few hundred")
        data = yaml.load(text, Loader=_NoDupSafeLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(str(path), "(yaml)", f"not valid YAML: {problem}",
                        line=mark.line + 1 if mark else None) from None
    except (ValueError, RecursionError) as e:
        raise SpecError(str(path), "(yaml)", f"not valid YAML: {e}") from None
    return data, _line_index(node)



def when(v: Any) -> datetime:
    """A date written in a spec as a comparable value: ISO dates (2018-01-01, as YAML gives
    them or as text) by the standard library, so checking a spec does not load pandas
    (``causal check``); anything else as pandas reads it. Raises ValueError if neither can."""
    try:
        return datetime.fromisoformat(str(v))
    except ValueError:
        import pandas as pd

        try:
            ts = pd.Timestamp(v)
        except (ValueError, TypeError):
            ts = pd.NaT
        if pd.isna(ts):
            raise ValueError("expected a date such as 2018-01-01") from None
        return ts.to_pydatetime()
