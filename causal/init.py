"""``causal init DATAFILE``: a first, commented spec for a data file.

Reads the file as ``causal check`` will (:mod:`causal.readers`, :mod:`causal.columns`),
types every column, guesses the treatment, outcome, region and person id by name and type,
adjusts for the remaining usable columns (integer codes with few values as ``C(x)``), and
writes a graph skeleton (every confounder into treatment and outcome) beside the spec. What
cannot be guessed (the report, its gross figures) is a TODO that still validates, so the
spec passes ``causal check`` on that file as written. Hand-written: the guesses are netto's.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

from causal.errors import DataError, NettoError

_TREAT = re.compile(r"treat|deelna|deelnem|particip|assign|toegewez|behandel|interventie|"
                    r"programma|maatregel|traject|coach|cursus|training", re.I)
_OUTCOME = re.compile(r"work|werk|baan|job|uitstroom|outcome|employ|exit|succes|y$", re.I)
_REGION = re.compile(r"^(region|regio|arbeidsmarktregio|amr|gemeente|municipality)$", re.I)
_BIRTH = re.compile(r"birth|geboorte", re.I)
_REF = re.compile(r"inflow|instroom|start|begin|intake", re.I)
DESIGNS = {"randomized": ["naive", "rct_difference"],
           "observational": ["naive", "ipw", "aipw"]}


def _name(col: str) -> str:
    """A spec-safe column name (identifier) for a file column."""
    n = re.sub(r"\W+", "_", col.strip().lower()).strip("_") or "column"
    return ("c_" + n) if n[0].isdigit() else n


def _q(v) -> str:
    return json.dumps(v, ensure_ascii=False)


def _pick(infos, pattern, types, exclude=()):
    hits = [i for i in infos if i.type in types and i.column not in exclude
            and pattern.search(i.column)]
    return hits[0] if hits else None


def write_spec(datafile: Path, *, design: str = "observational", out: Path | None = None,
               force: bool = False) -> list[Path]:
    """Write ``<stem>.yaml`` (and ``<stem>.dot``) for ``datafile``; returns the paths."""
    from causal.columns import type_columns
    from causal.readers import read_file

    if design not in DESIGNS:
        raise NettoError(f"--design {design}: causal init writes {' or '.join(DESIGNS)} specs; "
                         "for threshold, staggered or aggregate designs start from a bundled "
                         "spec in data_specs/ (docs/spec.md lists every field)")
    datafile = Path(datafile)
    table = read_file(datafile)
    source = str(datafile)
    renamed = {c: _name(c) for c in table.df.columns}
    if len(set(renamed.values())) < len(renamed):
        renamed = {c: f"{_name(c)}_{i}" for i, c in enumerate(table.df.columns)}
    df = table.df.rename(columns=renamed)
    table.labels = {renamed.get(k, k): v for k, v in table.labels.items()}
    table.user_missing = {renamed.get(k, k): v for k, v in table.user_missing.items()}
    table.missing_ranges = {renamed.get(k, k): v for k, v in table.missing_ranges.items()}
    _, infos = type_columns(df, SimpleNamespace(data=None), source, table)
    ok = [i for i in infos if not i.problem]
    binary = [i for i in ok if i.type == "binary"]
    treat = _pick(ok, _TREAT, ("binary",)) or (binary[0] if binary else None)
    if treat is None:
        raise DataError(source, "no 0/1 column to take as the treatment (who took part); "
                        "netto needs one: add it, or code an existing column as 0/1")
    outcome = (_pick(ok, _OUTCOME, ("binary", "numeric"), {treat.column})
               or next((i for i in reversed(binary) if i.column != treat.column), None))
    if outcome is None:
        raise DataError(source, "no outcome column found besides the treatment "
                        f"'{treat.column}': add a 0/1 or numeric outcome column")
    used = {treat.column, outcome.column}
    region = _pick(ok, _REGION, ("categorical",), used)
    if region:
        used.add(region.column)
    ids = [i for i in ok if i.type == "id"]
    birth = _pick(ok, _BIRTH, ("date",))
    ref = _pick(ok, _REF, ("date",), {birth.column} if birth else set())
    confounders, skipped = [], []
    for i in ok:
        if i.column in used or i.type in ("id", "date"):
            continue
        if i.type in ("categorical", "ordered") and i.levels.endswith("levels)"):
            skipped.append(f"{i.column} ({i.levels.split('(')[-1].rstrip(')')}: too many "
                           "categories to adjust for as they are)")
            continue
        if i.type == "numeric" and "integer codes" in i.how:
            confounders.append(f"C({i.column})")
        else:
            confounders.append(i.column)
    if birth and ref:
        confounders.append("months_to_aow")
    skipped += [f"{i.column} ({i.problem})" for i in infos if i.problem]

    stem = _name(datafile.stem)
    spec_path = Path(out) if out else datafile.with_name(f"{stem}.yaml")
    graph_path = spec_path.with_suffix(".dot")
    for p in (spec_path, graph_path):
        if p.exists() and not force:
            raise NettoError(f"{p}: exists already; choose another --out or add --force")
    rel_data = _relative(datafile, spec_path.parent)
    inv = {v: k for k, v in renamed.items() if k != v}
    schema_file = Path(__file__).resolve().parents[1] / "docs" / "spec.schema.json"
    L = [("# yaml-language-server: $schema=" + str(schema_file)) if schema_file.is_file() else
         "# editor support: causal schema > spec.schema.json, then add the line "
         "'# yaml-language-server: $schema=spec.schema.json'",
         f"# A first spec for {datafile.name}, written by `causal init` (docs/spec.md lists "
         "every field).",
         "# Edit the TODO lines, then:  causal check THIS_FILE  and  causal run THIS_FILE",
         f"measure: {stem if stem[0].isalpha() else 'm_' + stem}",
         f"title: {_q('TODO: the name of the measure (' + datafile.stem + ')')}",
         "source:",
         "  report: \"TODO: the evaluation report this measure comes from\"",
         "treatment:",
         f"  column: {treat.column}            # guessed: the first 0/1 column named like "
         "a treatment",
         f"  assignment: {design}        # randomized, observational, threshold, ...",
         "outcome:",
         f"  column: {outcome.column}",
         f"  kind: {'binary' if outcome.type == 'binary' else 'continuous'}"
         "              # binary (0/1, effects in points) or continuous",
         "  label: \"had the outcome\"        # TODO: reads after 'Of the participants, 54% ...'",
         "# what to adjust for: columns or formula terms (C(x) for codes, I(age**2), age:sex,",
         "# bs(age, df=4)); months_to_aow and conjunctuur are derived from dates (context)",
         "confounders: [" + ", ".join(confounders) + "]"]
    if skipped:
        L.append("# left out: " + "; ".join(skipped))
    if birth and ref:
        L += ["context:", f"  birth_date: {birth.column}", f"  reference_date: {ref.column}",
              "# add conjunctuur to the confounders for the unemployment rate at "
              f"{ref.column} (bundled national series, or context.conjunctuur.series)"]
    if region:
        L.append(f"region: {region.column}")
    L += [f"graph: {graph_path.name}           # a skeleton: every confounder into treatment and"
          " outcome; draw what you know",
          "estimators:"] + [f"  - name: {e}" for e in DESIGNS[design]]
    L += ["reported: []                     # TODO: the gross figures the report published",
          "data:", f"  path: {_q(rel_data)}"]
    if inv:
        L.append("  columns: {" + ", ".join(f"{k}: {_q(v)}" for k, v in inv.items()) + "}")
    if ids:
        L.append(f"  id_column: {ids[0].column}")
    L.append("  # how each column was read (causal check shows this table); change a type "
             "here if it is wrong")
    L.append("  types:")
    for i in ok:
        note = f"  # {i.how}" if i.how not in ("numbers", "categories", "dates") else ""
        L.append(f"    {i.column}: {i.type}{note}")
    gaps = [i.column for i in ok if i.missing and i.column in _vars(confounders)]
    L += ["  missing: []                      # codes that mean 'no value', e.g. [99, 999]",
          ("  missing_confounders: drop         # rows without a value for " + ", ".join(gaps)
           + " are left out (the report says about how many); or: error")
          if gaps else
          "  missing_confounders: error        # or drop (the report says how many)",
          "disclosure:", "  min_cell: 10"]
    nodes = [c for c in dict.fromkeys(_vars(confounders)) if c not in ("months_to_aow",)]
    if birth and ref:
        nodes.append("months_to_aow")
    G = [f"// causal graph for {stem}, written by causal init: a skeleton to correct",
         "digraph {", f"  {treat.column} -> {outcome.column};"]
    for c in nodes:
        if design != "randomized":
            G.append(f"  {c} -> {treat.column};")
        G.append(f"  {c} -> {outcome.column};")
    G.append("}")
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text("\n".join(L) + "\n", encoding="utf-8")
    graph_path.write_text("\n".join(G) + "\n", encoding="utf-8")
    return [spec_path, graph_path]


def _vars(terms: list[str]) -> list[str]:
    from causal.design import terms_variables

    return terms_variables(terms)


def _relative(path: Path, base: Path) -> str:
    import os

    try:
        return os.path.relpath(Path(path).resolve(), Path(base).resolve())
    except ValueError:  # another drive (Windows)
        return str(Path(path).resolve())
