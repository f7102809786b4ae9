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
their importers), while pandas, imported by causal.design and the estimator modules at their
top, stays in its cost (about 0.3 CPU-s of the command's 1.1).
"""
from __future__ import annotations

import importlib.util
import sys


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
