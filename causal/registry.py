"""A name -> item registry whose items register themselves when their module is imported.

Used for estimators and twin generators: a spec names them, and only the modules it needs
are imported (estimator modules import heavy libraries lazily, but their own import still
costs a little, and a missing optional module must not break the others).
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Generic, TypeVar

from pydantic import ValidationError

T = TypeVar("T")


class LazyRegistry(Generic[T]):
    def __init__(self, modules: dict[str, str]) -> None:
        self.modules = modules
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> None:
        self._items[name] = item

    def available(self) -> list[str]:
        """Names whose module exists in this installation."""
        return [n for n, m in self.modules.items() if importlib.util.find_spec(m) is not None]

    # item access on the registered items (tests monkeypatch these)
    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __setitem__(self, name: str, item: T) -> None:
        self._items[name] = item

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def get(self, name: str, default: T | None = None) -> T | None:
        """Dict-style lookup among the items registered so far (no import)."""
        return self._items.get(name, default)

    def load(self, name: str) -> T:
        """The item, importing its module first if needed; KeyError if the name is unknown
        or its module is not installed."""
        mod = self.modules.get(name)
        if mod is None or importlib.util.find_spec(mod) is None:
            raise KeyError(name)
        if name not in self._items:
            importlib.import_module(mod)
        return self._items[name]


def first_error(e: ValidationError) -> tuple[str, str, str, object]:
    """(field path, error type, message, offending input) of a pydantic error's first item."""
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")  # our own validators' messages stand alone
    return loc, err["type"], msg, (None if err["type"] == "missing" else err.get("input"))
