"""The bundled examples: every measure spec, its causal graph and the notebooks.

In a wheel they live inside the package (``causal/_examples/``, copied there at build time by
``setup.py``); in a source checkout or an editable install they are the repository's own
``data_specs/``, ``models/`` and ``notebooks/``. ``causal examples DIR`` copies them to a
folder of the user's, keeping the layout the specs' relative graph paths expect
(``data_specs/x.yaml`` names ``../models/x.dot``), so that ``causal run DIR`` works there.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from causal.errors import NettoError

#: the folders that make up the examples, and the files of each that are copied
PARTS = {"data_specs": ("*.yaml", "*.yml"), "models": ("*.dot", "*.gml", "*.gv"),
         "notebooks": ("*.ipynb",)}


def examples_root() -> Path:
    """Where the examples are: inside the installed package, else the source checkout."""
    here = Path(__file__).resolve().parent
    for root in (here / "_examples", here.parent):
        if (root / "data_specs").is_dir() and (root / "models").is_dir():
            return root
    raise NettoError(f"{here}: the bundled examples are missing from this installation "
                     "(expected a _examples folder in the package); reinstall netto from its wheel")


def copy_examples(dest: str | Path, *, force: bool = False) -> list[Path]:
    """Copy specs, graphs and notebooks to ``dest``; returns the files written.

    An existing file is never overwritten unless ``force``: the user may have edited it.
    """
    dest = Path(dest)
    root = examples_root()
    todo: list[tuple[Path, Path]] = []
    for part, patterns in PARTS.items():
        for pat in patterns:
            for src in sorted((root / part).glob(pat)):
                todo.append((src, dest / part / src.name))
    clash = [d for _, d in todo if d.exists()]
    if clash and not force:
        raise NettoError(f"{dest}: {len(clash)} example file(s) exist already, for example "
                         f"{clash[0]}; expected an empty or new folder (or pass --force to "
                         "overwrite them)")
    try:
        for src, dst in todo:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    except OSError as e:
        raise NettoError(f"{dest}: cannot write the examples there ({e.strerror})") from None
    return [d for _, d in todo]
