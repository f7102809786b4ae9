"""Defer heavy imports that a command may never use (``causal check`` and scipy.stats).

Estimator modules import ``scipy.stats`` at the top for their intervals; ``causal check``
imports those modules only to validate their options, and never computes an interval, yet
paid about 0.5 CPU-s for scipy.stats (half of the command). :func:`defer` puts a module in
``sys.modules`` that loads on first attribute access (the standard library's
``importlib.util.LazyLoader``), so importers bind it at no cost.

Only for single-threaded commands: in Python 3.11 the first access to a lazy module from two
threads at once can race (fixed in 3.12). It works for ``from scipy import stats`` (the
attribute is looked up on the parent, not on the lazy module), not for ``import pandas as
pd``: Python 3.11's import statement reads the module's ``__spec__``, which loads it; so
``causal check`` defers scipy.stats, scipy.special and scipy.optimize (bound as modules by
their importers). For a top-level package bound by ``import pandas as pd``,
:func:`defer_package` puts a stand-in module in ``sys.modules`` instead: it carries the
package's real ``__spec__`` (so the import statement binds it without loading) and loads the
package on the first attribute it is asked for.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


def defer(name: str) -> None:
    """Make ``import name`` cheap until the module is first used (no-op if imported)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:  # ``from parent import child`` finds the attribute and binds it, unloaded
        setattr(sys.modules[parent], child, module)


class _Deferred(types.ModuleType):
    """A package not yet loaded; the first attribute asked for loads it and copies its
    namespace here (later lookups are plain), so every importer holding this object sees
    the real package's objects (``pd.DataFrame`` is pandas' own class)."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def defer_package(name: str) -> None:
    """Make ``import name`` (a top-level package, say pandas) cheap until it is first used
    (no-op if imported). Single-threaded commands only, like :func:`defer`."""
    if name in sys.modules or "." in name:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stub = _Deferred(name)
    stub.__spec__ = spec
    stub.__loader__ = spec.loader
    sys.modules[name] = stub
