"""Loading study data: CSV, Parquet, SPSS .sav and Stata .dta, mapped onto the spec's names.

Rules (DESIGN.md, house rules): a binary treatment or outcome must be 0/1 or boolean;
missing values in treatment or outcome are an error naming the column and the row count;
rows are never dropped silently (the population filter reports what it excluded).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from causal.columns import ColumnInfo, check_used, type_columns
from causal.errors import DataError
from causal.readers import read_file
from causal.spec import Spec


def _plain(values) -> list:
    """Values as plain Python scalars, for messages (no 'np.int64(1)')."""
    return [v.item() if hasattr(v, "item") else v for v in values]


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a data file by its extension (see :mod:`causal.readers`); text columns that are
    all numbers become numbers (in the file's decimal notation), the rest stays as read.
    :func:`load_table` types columns by the spec instead."""
    from causal.columns import to_numbers

    t = read_file(path)
    if not t.text:
        return t.df
    df = t.df.copy()
    for c in df.columns:
        num, bad = to_numbers(df[c], t.decimal)
        if not bad.any() and num.notna().any():
            whole = num.notna().all() and bool((num % 1 == 0).all())
            df[c] = num.astype("int64") if whole else num
    return df


def map_columns(df: pd.DataFrame, spec: Spec, source: str) -> pd.DataFrame:
    """Rename file columns to the spec's names (spec field data.columns)."""
    mapping = spec.data.columns if spec.data else {}
    missing = [f for f in mapping.values() if f not in df.columns]
    if missing:
        raise DataError(source, f"the spec's data.columns maps to column(s) {missing} that "
                        f"are not in the file (file has: {', '.join(map(str, df.columns[:30]))})")
    return df.rename(columns={v: k for k, v in mapping.items()})


def required_columns(spec: Spec) -> dict[str, str]:
    """Column -> the spec field that needs it."""
    need = {spec.treatment.column: "treatment.column", spec.outcome.column: "outcome.column"}
    if spec.treatment.received:
        need[spec.treatment.received] = "treatment.received"
    for c in spec.data_confounders:
        need.setdefault(c, "confounders")
    if spec.region:
        need.setdefault(spec.region, "region")
    for cond in spec.population.conditions:
        need.setdefault(cond.column, "population.conditions")
    return need


def check_columns(df: pd.DataFrame, spec: Spec, source: str) -> None:
    for col, fld in required_columns(spec).items():
        if col not in df.columns:
            raise DataError(source, f"is required by the spec field '{fld}' but is not in the "
                            f"data (columns: {', '.join(map(str, df.columns[:30]))}); map it in "
                            "the spec's data.columns if it has another name", column=col)


def as_binary(s: pd.Series, source: str, column: str, field: str) -> pd.Series:
    """0/1 or boolean -> int 0/1; anything else is an error that says what was found."""
    n_missing = int(s.isna().sum())
    if n_missing:
        raise DataError(source, f"{n_missing} of {len(s)} rows have no value ({field} must be "
                        "0/1 for every row; netto does not drop rows silently)", column=column)
    if pd.api.types.is_bool_dtype(s):
        return s.astype(int)
    if not pd.api.types.is_numeric_dtype(s):
        vals = ", ".join(map(repr, _plain(pd.unique(s)[:5])))
        raise DataError(source, f"{field} must be 0/1 or true/false, found values {vals}",
                        column=column)
    a = s.to_numpy()
    if not ((a == 0) | (a == 1)).all() and not (vals := set(np.unique(a))) <= {0, 1}:
        raise DataError(source, f"{field} must be 0/1 or true/false, found values "
                        f"{_plain(sorted(vals)[:6])}", column=column)
    return s.astype(int)


def validate(df: pd.DataFrame, spec: Spec, source: str,
             notes: list[str] | None = None) -> pd.DataFrame:
    """Check types and values the estimators rely on; return a cleaned copy. Notes on rows
    dropped by the spec's leave (``data.missing_confounders: drop``) go to ``notes``."""
    notes = [] if notes is None else notes
    out = df.copy(deep=False)  # copy-on-write (pandas >= 3): columns are copied when written
    t = spec.treatment

    def binary(col: str, field: str) -> None:  # written only when the type changes
        b = as_binary(out[col], source, col, field)
        if b.dtype != out[col].dtype:
            out[col] = b

    binary(t.column, "treatment.column")
    if t.received:
        binary(t.received, "treatment.received")
    oc = spec.outcome.column
    if spec.outcome.kind == "binary":
        binary(oc, "outcome.column")
    else:
        if not pd.api.types.is_numeric_dtype(out[oc]):
            raise DataError(source, f"the outcome (kind {spec.outcome.kind}) must be numeric, "
                            f"found values {_plain(pd.unique(out[oc])[:5])}", column=oc)
        n_missing = int(out[oc].isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} rows have no outcome value", column=oc)
        n_inf = int((~np.isfinite(out[oc].to_numpy(dtype=float))).sum())
        if n_inf:
            raise DataError(source, f"{n_inf} rows have an infinite outcome value", column=oc)
    if spec.data and spec.data.missing_confounders == "drop" and spec.data_confounders:
        gone = out[spec.data_confounders].isna().any(axis=1)
        if gone.any():
            out = out[~gone].reset_index(drop=True)
            from causal.report.gate import fmt_count  # the output gate's rounding rules

            notes.append(f"{fmt_count(int(gone.sum()), spec.disclosure)} rows with a missing "
                         "confounder value were dropped (data.missing_confounders: drop)")
    for c in spec.data_confounders:
        n_missing = int(out[c].isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} of {len(out)} rows have no value for this "
                            "confounder; impute or filter them explicitly before the run, or "
                            "set data.missing_confounders: drop", column=c)
        col = out[c]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
                or isinstance(col.dtype, pd.CategoricalDtype)
                or pd.api.types.is_datetime64_any_dtype(col)):
            # text: a category (fine), unless it is mostly numbers with a few stray words,
            # which would silently turn a number into hundreds of categories
            num = pd.to_numeric(col, errors="coerce")
            bad = num.isna()
            if 0 < int(bad.sum()) and num.notna().mean() > 0.5:
                raise DataError(source, f"looks numeric, but {int(bad.sum())} of {len(out)} "
                                f"values are not numbers (first: {col[bad].iloc[0]!r}); fix "
                                "them, or the confounder would be read as text categories",
                                column=c)
    if spec.region and spec.region in out.columns:
        n_missing = int(out[spec.region].isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} of {len(out)} rows have no region (spec field "
                            "'region'); fill them in or filter those rows explicitly",
                            column=spec.region)
    if spec.data and spec.data.id_column:
        if spec.data.id_column not in out.columns:
            raise DataError(source, "is named by the spec field 'data.id_column' but is not in "
                            f"the data (columns: {', '.join(map(str, out.columns[:30]))})",
                            column=spec.data.id_column)
        ids = out[spec.data.id_column]
        n_missing = int(ids.isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} rows have no id; each person needs one",
                            column=spec.data.id_column)
        dup = int(ids.duplicated().sum())
        if dup:
            raise DataError(source, f"{dup} duplicated ids (first: {_plain([ids[ids.duplicated()].iloc[0]])[0]!r});"
                            " each person must appear once", column=spec.data.id_column)
    n_t = int(out[t.column].sum())
    if n_t == 0 or n_t == len(out):
        who = "no one" if n_t == 0 else "everyone"
        raise DataError(source, f"{who} is treated ({n_t} of {len(out)} rows); a net effect needs "
                        "both treated and untreated persons", column=t.column)
    if min(n_t, len(out) - n_t) < 2:
        raise DataError(source, f"only {min(n_t, len(out) - n_t)} person is "
                        f"{'treated' if n_t < 2 else 'untreated'} ({n_t} of {len(out)} rows "
                        "treated); a net effect and its interval need at least two in each group",
                        column=t.column)
    return out


def apply_population(df: pd.DataFrame, spec: Spec, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Apply the spec's population conditions; say how many rows each one excluded."""
    notes = []
    for cond in spec.population.conditions:
        col = df[cond.column]
        if (cond.min is not None or cond.max is not None) and not (
                pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            num = pd.to_numeric(col, errors="coerce")
            bad = num.isna() & col.notna()
            if bad.any():
                raise DataError(source, f"the spec's population condition (min/max) needs numbers"
                                f", but {int(bad.sum())} rows are not numbers (first: "
                                f"{col[bad].iloc[0]!r})", column=cond.column)
            col = num
        keep = pd.Series(True, index=df.index)
        if cond.min is not None:
            keep &= col >= cond.min
        if cond.max is not None:
            keep &= col <= cond.max
        if cond.isin is not None:
            keep &= col.isin(cond.isin)
        dropped = int((~keep).sum())
        if dropped:  # counts as published: rounded, "fewer than 10" (disclosure control)
            from causal.report.gate import fmt_count

            notes.append(f"population condition on '{cond.column}' excluded "
                         f"{fmt_count(dropped, spec.disclosure)} of "
                         f"{fmt_count(len(df), spec.disclosure)} rows")
            df = df[keep]  # (no copy of every column when the condition keeps them all)
    if len(df) == 0:
        raise DataError(source, "no rows are left after the spec's population conditions")
    return df.reset_index(drop=True), notes


def used_columns(spec: Spec) -> dict[str, str]:
    """Every column the spec uses -> the field that uses it (for errors)."""
    used = dict(required_columns(spec))
    if spec.context_confounders:
        used.setdefault(spec.context.reference_date, "context.reference_date")
        if {"months_to_aow", "reaches_aow_within_horizon"} & set(spec.context_confounders):
            used.setdefault(spec.context.birth_date, "context.birth_date")
    if spec.data and spec.data.id_column:
        used.setdefault(spec.data.id_column, "data.id_column")
    return used


def load_table(path: str | Path, spec: Spec, *, typed: bool = True
               ) -> tuple[pd.DataFrame, list[str], list[ColumnInfo], str]:
    """Read, map, type, check and filter a data file for a spec.

    Returns the data, notes, the column table (for ``causal check``) and the dialect the
    file was read in. Errors name the user's column where the spec maps it."""
    source = str(path)
    csv = spec.data.csv if spec.data and spec.data.csv else None
    table = read_file(path, sep=csv.sep if csv else None,
                      decimal=csv.decimal if csv else None,
                      encoding=csv.encoding if csv else None)
    mapping = dict(spec.data.columns) if spec.data else {}
    try:
        df = map_columns(table.df, spec, source)
        table.df = None  # the file's frame lives on only as far as ``df`` shares it
        infos: list[ColumnInfo] = []
        if typed:
            df, infos = type_columns(df, spec, source, table, mapping)
        check_columns(df, spec, source)
        check_used(infos, used_columns(spec), source)
        df, notes = apply_population(df, spec, source)
        notes += duplicate_id_notes(infos, spec)
        return validate(df, spec, source, notes), notes, infos, table.dialect
    except DataError as e:
        if e.column in mapping and not getattr(e, "file_column", None):
            raise DataError(e.source, e.problem, column=e.column,
                            file_column=mapping[e.column]) from None
        raise


def duplicate_id_notes(infos: list[ColumnInfo], spec: Spec) -> list[str]:
    """Columns that look like person ids but hold an id more than once (data.id_column,
    when set, makes that an error in :func:`validate`)."""
    idc = spec.data.id_column if spec.data else None
    return [f"column '{i.file_column or i.column}' looks like a person id, but "
            f"{i.duplicates} id(s) occur more than once: is a person in the extract twice? "
            f"Set data.id_column: {i.column} to refuse such files"
            for i in infos if i.type == "id" and i.duplicates and i.column != idc]


def load_data(path: str | Path, spec: Spec) -> tuple[pd.DataFrame, list[str]]:
    """Read, map, type, check and filter a data file for a spec. Returns data and notes."""
    df, notes, _, _ = load_table(path, spec)
    return df, notes
