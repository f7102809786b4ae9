"""Synthetic twins from a spec: the public entry point (``causal simulate`` uses it).

A twin is a population drawn from the spec's ``simulation`` block by one of the generators
in :mod:`causal.twins` (individual, panel, threshold, duration, regions), with a known true
effect on the outcome's scale. Deterministic by seed. The truth travels with the data: in
:class:`causal.twins.Twin` in memory, and in a ``.truth.json`` file beside a written twin.

    >>> from causal.simulate import simulate
    >>> tw = simulate("data_specs/almere_aanpak45plus.yaml", n=500)
    >>> tw.truth["ITT"]  # doctest: +SKIP
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from causal.errors import NettoError
from causal.twins import Twin, make_twin

if TYPE_CHECKING:
    from causal.spec import Spec

__all__ = ["Twin", "simulate", "write_twin"]


def simulate(spec: "Spec | str | Path", seed: int | None = None, n: int | None = None,
             stress: list | None = None, **overrides: Any) -> Twin:
    """The spec's twin; ``seed``, ``n`` and generator ``overrides`` replace the spec's values;
    ``stress`` adds stress scenarios (:mod:`causal.twins.stress`)."""
    if not hasattr(spec, "simulation"):
        from causal.spec import load_spec

        spec = load_spec(Path(spec))
    return make_twin(spec, seed=seed, n=n, stress=stress, **overrides)


def write_twin(tw: Twin, out: Path) -> Path:
    """Write the twin's data (.csv or .parquet) and its truth to ``<out>.truth.json``.

    Returns the path of the truth file.
    """
    out = Path(out)
    if out.suffix not in (".csv", ".parquet"):
        raise NettoError(f"{out}: expected a .csv or .parquet output file, got '{out.suffix}'")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        tw.data.to_parquet(out, index=False)
    else:
        tw.data.to_csv(out, index=False)
    truth = out.with_suffix(".truth.json")
    truth.write_text(json.dumps(tw.truth, indent=2, sort_keys=True) + "\n")
    return truth
