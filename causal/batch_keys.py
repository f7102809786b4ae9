"""The cache keys of a batch (causal.batch): a hash of the content a Study is built from
(spec file, graph, data file bytes or the twin's seed and size, conjunctuur series, toolkit
version), and per task its estimator, options and report language. Paths are not hashed: a
file rewritten under the same name gives a new key."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from causal import __version__


def _file_hash(path: Path | None, h: "hashlib._Hash") -> None:
    if path is None or not Path(path).is_file():
        h.update(b"-")
        return
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)


def task_key(spec, est_index: int, data: str | None, seed: int | None, n: int | None,
             conjunctuur: str | None, lang: str = "en") -> str:
    """The cache key of one task: its Study, its estimator and options, and the language
    its figures are drawn in (a Dutch and an English run never share figures)."""
    est = spec.estimators[est_index]
    h = hashlib.sha256(study_key(spec, data, seed, n, conjunctuur).encode())
    h.update(json.dumps([est.name, est.options, lang], sort_keys=True, default=str).encode())
    return h.hexdigest()[:20]


def study_key(spec, data: str | None, seed: int | None, n: int | None,
              conjunctuur: str | None) -> str:
    """Hash of the content a Study is built from (not the paths: a file rewritten under the
    same name gives a new key)."""
    h = hashlib.sha256()
    h.update(__version__.encode())
    _file_hash(spec.path, h)
    _file_hash(spec.graph_path, h)
    data_path = data or (str(spec.path.parent / spec.data.path) if spec.data and spec.data.path
                         else None)
    if data_path:
        _file_hash(Path(data_path), h)
    else:
        h.update(f"twin:{seed}:{n}".encode())
    cj = conjunctuur or (spec.context.conjunctuur.series
                         if spec.context.conjunctuur.series != "default" else None)
    if cj:
        p = Path(cj) if Path(cj).is_absolute() else spec.path.parent / cj
        _file_hash(p, h)
    return h.hexdigest()[:20]
