"""Column types: each column read as the spec declares it (``data.types``) or as inferred,
never silently misread.

Types: ``numeric``, ``categorical``, ``ordered``, ``binary``, ``date``, ``id``. A declared
type is enforced: text in a numeric column is an error naming the column and a sample value
(with the decimal-comma hint). Undeclared columns are inferred: numbers stay numbers (0/1 is
binary), text that is all numbers becomes numbers, text that is all dates becomes dates,
other text is categorical. SPSS/Stata value labels become the categories of a categorical
column (declared, or inferred when every value carries a label); codes the file declares
user-missing, codes the spec lists in ``data.missing`` or ``types.X.missing``, and a code
labelled as unknown ("onbekend", "missing", ...) become missing. :func:`type_columns`
returns the typed frame and one :class:`ColumnInfo` per column for ``causal check``.

Hand-written: the rules are netto's (which label means missing, when text is a number); the
parsing is pandas'.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causal.errors import DataError
from causal.textvalues import (  # noqa: F401 - re-exported (causal.data, causal.context)
    _NUM_COMMA,
    _NUM_COMMA_THOUSANDS,
    _NUM_DOT,
    _sample,
    as_dates,
    by_value,
    decimal_hint,
    parse_dates,
    refuse_years,
    to_numbers,
)

#: |value| above this is refused: no labour-market quantity is that large, and the linear
#: algebra of every estimator loses all precision (a value of 1e300 squared overflows)
HUGE = 1e15
#: value labels that mean "no value"
_MISSING_LABEL = re.compile(r"^\s*(onbekend|unknown|missing|ontbreekt|weet\s*niet|geen\s*"
                            r"antwoord|n\.?v\.?t\.?|not\s*applicable|refused|don'?t\s*know|"
                            r"sysmis|leeg|niet\s*ingevuld)\b", re.I)
_TRUE = {"1", "true", "waar", "ja", "yes", "j", "y", "t"}
_FALSE = {"0", "false", "onwaar", "nee", "no", "n", "f"}
_ID_NAME = re.compile(r"(^|_|\s)(id|bsn|rin|person|persoon|client|klant|nummer|nr)($|_|\s)"
                      r"|^(klant|client|person|persoon)(nr|nummer|id)$|(nr|nummer|_id)$", re.I)


@dataclass
class ColumnInfo:
    """One row of ``causal check``'s column table."""

    column: str
    type: str
    how: str
    missing: int
    levels: str = ""
    file_column: str | None = None
    #: a problem that is an error only if the spec uses the column
    problem: str | None = None
    declared: bool = False
    #: id columns: how many values occur more than once
    duplicates: int = 0

    def row(self) -> list[str]:
        name = self.column + (f" ({self.file_column})" if self.file_column else "")
        return [name, self.type + ("" if self.declared else " (inferred)"), self.how,
                str(self.missing), self.levels]


def n_distinct(s: pd.Series) -> int:
    """``s.nunique()`` (missing values not counted); for integers whose range is at most
    four times the rows, by one bincount instead of a hash table (ids and codes of
    registry extracts: 10,000,000 person ids about 1.0 -> 0.1 CPU-s)."""
    v = s.to_numpy()
    if v.dtype.kind in "iu" and len(v) > 100_000:
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 4 * len(v):
            return int(np.count_nonzero(np.bincount(v.astype(np.int64) - lo)))
    return int(s.nunique())


def _few_distinct(arr: np.ndarray, limit: int = 10) -> int:
    """The number of distinct non-missing values of ``arr``, or ``limit + 1`` as soon as
    the first rows alone hold more than ``limit`` (no hash table over every row then)."""
    head = arr[:5000]
    if len(np.unique(head[~np.isnan(head)])) > limit:
        return limit + 1
    return int(pd.Series(arr).nunique())


def _zero_one(a: np.ndarray) -> bool:
    """Every value 0 or 1 (no set of the distinct values over millions of rows)."""
    return bool(((a == 0) | (a == 1)).all())


def _fmt_levels(values, k: int = 6) -> str:
    vals = [str(v) for v in values]
    return ", ".join(vals[:k]) + (f", ... ({len(vals)} levels)" if len(vals) > k else "")


def _missing_codes(col: str, table, spec) -> tuple[list, list[tuple[float, float]]]:
    codes = list(table.user_missing.get(col, [])) if table is not None else []
    ranges = list(table.missing_ranges.get(col, [])) if table is not None else []
    decl = spec.data.decl(col) if spec.data else None
    if decl is not None:
        codes += list(decl.missing)
    if spec.data:
        codes += list(spec.data.missing)
    return codes, ranges


def _apply_missing(s: pd.Series, codes: list, ranges: list) -> tuple[pd.Series, int]:
    """Set user-missing codes (and ranges) to NaN; the number set."""
    if not codes and not ranges:
        return s, 0
    hit = pd.Series(False, index=s.index)
    if codes:
        hit |= s.isin(codes)
        if not pd.api.types.is_numeric_dtype(s):
            hit |= s.astype("string").str.strip().isin([str(c) for c in codes]).fillna(False)
        else:
            num = [c for c in codes if isinstance(c, (int, float)) and not isinstance(c, bool)]
            hit |= s.isin(num)
    if ranges and pd.api.types.is_numeric_dtype(s):
        for lo, hi in ranges:
            hit |= (s >= lo) & (s <= hi)
    n = int(hit.sum())
    return (s.mask(hit) if n else s), n


def type_column(s: pd.Series, col: str, spec, source: str, table=None,
                file_col: str | None = None) -> tuple[pd.Series, ColumnInfo]:
    """One column, typed as declared or inferred; see the module doc."""
    decl = spec.data.decl(col) if spec.data else None
    decimal = table.decimal if table is not None else "."
    labels = dict(table.labels.get(file_col or col, {})) if table is not None else {}
    codes, ranges = _missing_codes(file_col or col, table, spec)
    how: list[str] = []
    kind = decl.type if decl else None
    problem = None

    # labels meaning "unknown" on numeric codes: missing
    if labels and pd.api.types.is_numeric_dtype(s) and kind not in ("categorical", "ordered"):
        unk = [c for c, lab in labels.items() if _MISSING_LABEL.match(str(lab))]
        if unk:
            codes = codes + unk
            how.append("code(s) " + ", ".join(f"{c:g} ('{labels[c]}')" for c in unk)
                       + " read as missing")
    if codes or ranges:
        s, n_user = _apply_missing(s, codes, ranges)
        if n_user:
            how.append(f"{n_user} user-missing code(s) set to missing")

    if kind is None:
        kind = _infer(s, col, labels, decimal)
    if kind in ("numeric", "binary"):
        v, bad = to_numbers(s, decimal) if kind == "numeric" or not pd.api.types.is_bool_dtype(
            s) else (s.astype(float), pd.Series(False, index=s.index))
        if kind == "binary" and bad.any():
            mapped = by_value(s, lambda u: u.astype("string").str.strip().str.lower().map(
                lambda x: 1.0 if x in _TRUE else 0.0 if x in _FALSE else np.nan))
            v = v.where(~bad, mapped)
            bad = v.isna() & s.notna()
        if bad.any():
            problem = (("" if decl else "looks numeric, but ")
                       + f"{int(bad.sum())} of {len(s)} values are not numbers (first: "
                       f"{_sample(s[bad])})" + (decimal_hint(s[bad], decimal)
                                                 if kind == "numeric" else
                                                 "; a binary column holds 0/1, true/false or "
                                                 "ja/nee"))
            if decl:
                raise DataError(source, problem + " (declared " + kind + " in data.types)",
                                column=col)
            return s, ColumnInfo(col, "text", "left as text: " + problem, int(s.isna().sum()),
                                 file_column=file_col, problem=problem)
        if codes or ranges:  # codes written as 99.0 in a text file: compare as numbers
            v, n_num = _apply_missing(v, codes, ranges)
            if n_num:
                how.append(f"{n_num} missing code(s) set to missing")
        arr = v.to_numpy(dtype=float)
        # numpy integers: no missing, infinite or fractional values (nullable Int64 may miss)
        ints = isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu"
        n_inf = 0 if ints else int(np.isinf(arr).sum())
        n_huge = int(np.count_nonzero(np.abs(arr) > HUGE)) - n_inf  # NaN compares false
        if n_inf or n_huge:
            problem = (f"{n_inf + n_huge} values are infinite or larger than {HUGE:.0e} in size "
                       f"(first: {_sample(s[np.isinf(arr) | (np.abs(np.nan_to_num(arr)) > HUGE)])}"
                       "); no estimator can use them: fix or remove them")
        if kind == "binary" and not _zero_one(arr[~np.isnan(arr)] if not ints else arr):
            vals = set(np.unique(arr[~np.isnan(arr)]))
            if not vals <= {0.0, 1.0}:
                msg = f"a binary column holds 0/1, found values {sorted(vals)[:6]}"
                if decl:
                    raise DataError(source, msg, column=col)
                kind = "numeric"
        if not pd.api.types.is_numeric_dtype(s):
            csv_text = table is not None and table.text
            comma = decimal == "," and bool(pd.Series(pd.unique(s.dropna())).astype(
                "string").str.contains(",").any())
            how.append(("numbers" if csv_text else "text read as numbers")
                       + (" with a decimal comma" if comma else ""))
        elif labels and kind == "numeric":
            how.append("value labels ignored (numbers)")
        whole = ints and not n_huge or (not v.isna().any() and bool(np.all(arr == np.floor(
            arr))) and not n_inf and not n_huge)
        if whole and not pd.api.types.is_float_dtype(s):
            s = v.astype(np.int64)  # integers stay integers, as the file holds them
        else:
            s = v.astype(int) if kind == "binary" and whole else v
        levels = ""
        if kind == "numeric":
            k = _few_distinct(arr)
            if 2 < k <= 10 and np.all(np.mod(arr[np.isfinite(arr)], 1) == 0):
                how.append(f"integer codes with {k} values used as one number; declare "
                           f"categorical in data.types or write C({col}) if they are categories")
            if not np.isnan(arr).all():
                levels = f"{np.nanmin(arr):g} to {np.nanmax(arr):g}"
        else:
            levels = "0, 1"
        info = ColumnInfo(col, kind, "; ".join(how) or "numbers", int(s.isna().sum()),
                          levels, file_col, problem, decl is not None)
        return s, info
    if kind in ("categorical", "ordered"):
        s, lv, h = _categorical(s, col, decl, labels, decimal, source, kind == "ordered")
        how += h
        return s, ColumnInfo(col, kind, "; ".join(how) or "categories", int(s.isna().sum()),
                             _fmt_levels(lv), file_col, None, decl is not None)
    if kind == "date":
        try:
            refuse_years(s, source, col)
            d = parse_dates(s, source, col) if s.notna().any() else pd.to_datetime(s)
        except DataError as e:
            if decl:
                raise
            return s, ColumnInfo(col, "text", "left as text: " + e.problem, int(s.isna().sum()),
                                 file_column=file_col, problem=e.problem)
        rng = f"{d.min():%Y-%m-%d} to {d.max():%Y-%m-%d}" if d.notna().any() else ""
        return d, ColumnInfo(col, "date", "; ".join(how) or "dates", int(d.isna().sum()), rng,
                             file_col, None, decl is not None)
    # id
    if not pd.api.types.is_numeric_dtype(s):
        num, bad = to_numbers(s)
        if not bad.any() and num.notna().all() and bool((num % 1 == 0).all()):
            s = num.astype(np.int64)  # numeric ids in a text file: numbers, as written
    nonmiss = s[s.notna()] if s.hasnans else s
    dup = len(nonmiss) - n_distinct(nonmiss)
    how.append(f"{dup} duplicated value(s)" if dup else "each value once")
    info = ColumnInfo(col, "id", "; ".join(how), int(s.isna().sum()), "", file_col, None,
                      decl is not None)
    info.duplicates = dup
    return s, info


def _looks_like_id(nonmiss: pd.Series, col: str) -> bool:
    """A person id by its name (id, bsn, client, ...) and values (nearly all distinct)."""
    return bool(_ID_NAME.search(col)) and len(nonmiss) > 20 \
        and n_distinct(nonmiss) >= 0.9 * len(nonmiss)


def _infer(s: pd.Series, col: str, labels: dict, decimal: str) -> str:
    """The type of an undeclared column."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return "ordered" if s.dtype.ordered else "categorical"
    if pd.api.types.is_bool_dtype(s):
        return "binary"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    nonmiss = s.dropna() if s.hasnans else s
    if pd.api.types.is_numeric_dtype(s):
        if labels and len(nonmiss) and nonmiss.isin(list(labels)).all() \
                and nonmiss.nunique() >= 2:
            return "categorical"  # every value carries a label: labelled categories
        if _looks_like_id(nonmiss, col) and (nonmiss % 1 == 0).all():
            return "id"
        return "binary" if len(nonmiss) and _zero_one(nonmiss.to_numpy()) else "numeric"
    if len(nonmiss) == 0:
        return "numeric"
    if _looks_like_id(nonmiss, col):
        return "id"
    # the rules read each distinct value once; shares count rows (w: rows per value)
    vc = nonmiss.value_counts(sort=False)
    text = pd.Series(vc.index.to_numpy(dtype=object)).astype(str).str.strip()
    w = vc.to_numpy(dtype=float) / len(nonmiss)
    num_ok = text.str.match(_NUM_COMMA if decimal == "," else _NUM_DOT)
    if decimal == ",":
        num_ok |= text.str.match(_NUM_COMMA_THOUSANDS)
    if num_ok.all():
        return "binary" if set(text) <= {"0", "1"} else "numeric"
    if (num_ok.to_numpy(float) * w).sum() > 0.5:
        return "numeric"  # mostly numbers: a few stray words are a problem, not categories
    if (text.str.match(_NUM_COMMA if decimal == "." else _NUM_DOT).to_numpy(float) * w).sum() \
            > 0.5:
        return "numeric"  # numbers in the other notation: refused with the hint
    if (text.str.match(r"^\d{1,4}[-/]\d{1,2}[-/]\d{1,4}$").to_numpy(float) * w).sum() > 0.9:
        return "date"
    return "categorical"  # ja/nee stays text: declare the column binary to read it as 1/0


def _categorical(s: pd.Series, col: str, decl, labels: dict, decimal: str, source: str,
                 ordered: bool) -> tuple[pd.Series, list, list[str]]:
    how: list[str] = []
    rows = None
    if isinstance(s.dtype, pd.CategoricalDtype) and not (decl and decl.levels):
        cats = list(s.cat.categories)
        if ordered and not s.cat.ordered:
            s = s.cat.as_ordered()
        return s, cats, how
    values = s
    if labels and pd.api.types.is_numeric_dtype(s):
        used = sorted(pd.unique(s.dropna()))
        order = sorted(set(labels) | set(used))
        names = {c: str(labels.get(c, f"{c:g}")) for c in order}
        values = s.map(names)
        cats = list(dict.fromkeys(names[c] for c in order))
        unl = [c for c in used if c not in labels]
        how.append("value labels as categories" + (
            f" (codes without a label kept as numbers: {_fmt_levels(unl, 4)})" if unl else ""))
    elif pd.api.types.is_numeric_dtype(s):
        cats = sorted(pd.unique(s.dropna()))
        if all(float(c).is_integer() for c in cats):
            values = s.astype("Int64")
            cats = [int(c) for c in cats]
    else:  # text: the rules run on its distinct values (rows: their codes)
        rows, uniq = pd.factorize(s, use_na_sentinel=True)
        text = pd.Series(uniq, dtype=s.dtype).astype("string").str.strip()
        num, bad = to_numbers(text, decimal)
        if not bad.any() and num.notna().any() and (num.dropna() % 1 == 0).all():
            values, cats = num.astype("Int64"), sorted(int(c) for c in num.dropna().unique())
        else:
            values = text.astype(object).where(text.notna(), None)
            cats = sorted(pd.unique(values.dropna()), key=str)
    if decl and decl.levels:
        want = list(decl.levels)
        extra = [v for v in pd.unique(values.dropna()) if v not in want
                 and str(v) not in map(str, want)]
        if extra:
            raise DataError(source, f"values {extra[:5]} are not among the declared levels "
                            f"{want} (data.types.{col}.levels)", column=col)
        def level(v):
            return next((w for w in want if str(w) == str(v)), v) \
                if v is not None and not pd.isna(v) else v

        # text: values are already the distinct ones; else map each distinct value once
        values = values.map(level) if rows is not None else by_value(
            values, lambda u: u.map(level))
        cats = want
    if len(set(map(str, cats))) < len(cats):
        raise DataError(source, "two codes carry the same value label; the categories would "
                        "merge: fix the labels", column=col)
    cat = pd.Categorical(values, categories=cats, ordered=ordered)
    if rows is not None:  # distinct values -> rows
        cat = pd.Categorical.from_codes(np.where(rows >= 0, cat.codes[rows], -1), dtype=cat.dtype)
    out = pd.Series(cat, index=s.index)
    if ordered:
        how.append("levels in order: " + " < ".join(map(str, cats[:6]))
                   + (" ..." if len(cats) > 6 else ""))
    return out, cats, how


def type_columns(df: pd.DataFrame, spec, source: str, table=None,
                 mapping: dict[str, str] | None = None,
                 ) -> tuple[pd.DataFrame, list[ColumnInfo]]:
    """Type every column (spec names; ``mapping`` spec name -> file name). Columns whose
    problems matter only if used keep their problem in the info."""
    mapping = mapping or {}
    if spec.data:
        unknown = [c for c in spec.data.types if c not in df.columns]
        if unknown:
            raise DataError(source, f"the spec's data.types names column(s) {unknown} that are "
                            f"not in the data (columns: {', '.join(map(str, df.columns[:30]))})")
    out = {}
    infos = []
    for col in df.columns:
        s, info = type_column(df[col], str(col), spec, source, table,
                              file_col=mapping.get(col))
        out[col] = s
        infos.append(info)
    # copy=False: the typed columns as they are, one block each (no consolidated copy of the
    # frame beside the file's; a later write to one column copies that column only)
    return pd.DataFrame(out, index=df.index, copy=False), infos


def check_used(infos: list[ColumnInfo], used: dict[str, str], source: str) -> None:
    """A problem in a column the spec uses is an error naming it and the spec field."""
    for info in infos:
        if info.column in used and info.problem:
            name = info.file_column or info.column
            raise DataError(source, f"{info.problem} (needed by the spec field "
                            f"'{used[info.column]}')", column=name)
