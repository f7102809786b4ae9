"""Reading a conjunctuur series file (the CSV format is described in
:mod:`causal.context.conjunctuur`): its periods (years, quarters, months, CBS StatLine
codes), regions, indicator and annotation columns, ``#`` citation lines, and Dutch
``;``-separated files with decimal commas. Every problem is a DataError naming the file."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from causal.errors import DataError

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "series" / "unemployment_nl.csv"
PERIOD_COLUMNS = ("period", "periode", "perioden")
REGION_COLUMNS = ("region", "regio")
ANNOTATION_COLUMNS = ("method", "source", "note", "notes", "definition", "status")
KNOWN_INDICATORS = {
    "unemployment_rate": "unemployment rate (% of the labour force)",
    "vacancies_per_unemployed": "vacancies per unemployed person (tightness)",
}
PERIOD_FORMATS = "years (2018), quarters (2018Q2) or months (2018-06)"

_YEAR = re.compile(r"^(\d{4})(?:JJ00)?$", re.I)
_QUARTER = re.compile(r"^(\d{4})\s*[-_ ]?\s*(?:Q|KW0?)([1-4])$", re.I)
_MONTH = re.compile(r"^(\d{4})\s*(?:-|/|MM|M)\s*(\d{1,2})$", re.I)
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


# --------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------
def parse_period(text, *, allow_date: bool = False) -> tuple[str, str] | None:
    """``(kind, canonical)`` for a period text: ``("year", "2018")``, ``("quarter",
    "2018Q2")``, ``("month", "2018-06")``; with ``allow_date`` a date ``2018-06-15`` counts
    as its month. ``None`` if it is none of these."""
    if isinstance(text, (int, np.integer)):
        text = str(int(text))
    s = str(text).strip()
    if re.fullmatch(r"\d{4}\.0", s):  # a year column a spreadsheet turned into floats
        s = s[:4]
    if m := _YEAR.match(s):
        return "year", m.group(1)
    if m := _QUARTER.match(s):
        return "quarter", f"{m.group(1)}Q{m.group(2)}"
    if (m := _MONTH.match(s)) and 1 <= int(m.group(2)) <= 12:
        return "month", f"{m.group(1)}-{int(m.group(2)):02d}"
    if allow_date and (m := _DATE.match(s)):
        try:
            pd.Timestamp(s)
        except ValueError:
            return None
        return "month", f"{m.group(1)}-{int(m.group(2)):02d}"
    return None


def period_keys(month: str) -> list[str]:
    """The period keys that cover a month, finest first: ``2018-06, 2018Q2, 2018``."""
    y, m = month.split("-")
    return [month, f"{y}Q{(int(m) - 1) // 3 + 1}", y]


def _norm_region(x) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x).strip().casefold()


# --------------------------------------------------------------------------------------
# Reading a series
# --------------------------------------------------------------------------------------
def resolve_path(series: str | Path, base: Path | None = None) -> Path:
    """The CSV a spec's ``context.conjunctuur.series`` points to (relative to ``base``)."""
    if str(series) == "default":
        return DEFAULT_FILE
    p = Path(series).expanduser()
    if not p.is_absolute():
        p = (Path(base) if base is not None else Path.cwd()) / p
    return p.resolve()


def _sniff(lines: list[str]) -> str:
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            if ";" in line:
                return ";"
            if "\t" in line:
                return "\t"
            return ","
    return ","


def read_series_table(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read and check a series CSV. Returns the table (columns ``period``, ``kind``,
    ``region``, indicators as floats, annotations) and metadata (``file``, ``citation``,
    ``indicators``, ``regions``, ``kinds``). Every problem is a DataError naming the file,
    the column and what was expected."""
    p = Path(path)
    src = str(p)
    if not p.exists():
        raise DataError(src, "the conjunctuur series file does not exist (spec field "
                        "context.conjunctuur.series; a relative path is read from the "
                        "spec's folder)")
    if p.is_dir():
        raise DataError(src, "expected a conjunctuur series CSV file, got a folder")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(src, f"the file is not UTF-8 text ({e.reason}); save it as UTF-8 CSV"
                        ) from None
    lines = text.splitlines()
    citation = "\n".join(ln.lstrip()[1:].strip() for ln in lines
                         if ln.lstrip().startswith("#"))
    sep = _sniff(lines)
    from io import StringIO

    try:
        raw = pd.read_csv(StringIO(text), sep=sep, comment="#", dtype=str,
                          skipinitialspace=True, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(src, "the file has no header or rows; expected a CSV with a period "
                        "column and one or more indicator columns") from None
    except pd.errors.ParserError as e:
        raise DataError(src, f"could not be read as CSV: {str(e).splitlines()[0]}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    lower = {c.lower(): c for c in raw.columns}
    pcol = next((lower[c] for c in PERIOD_COLUMNS if c in lower), None)
    if pcol is None:
        raise DataError(src, f"no period column; expected a column named 'period' holding "
                        f"{PERIOD_FORMATS} (file has: {', '.join(raw.columns)})", column="period")
    rcol = next((lower[c] for c in REGION_COLUMNS if c in lower), None)
    if len(raw) == 0:
        raise DataError(src, "the file has a header but no rows")

    parsed = [parse_period(v) for v in raw[pcol]]
    bad = [i for i, v in enumerate(parsed) if v is None]
    if bad:
        i = bad[0]
        raise DataError(src, f"{len(bad)} value(s) are not periods (first: {raw[pcol].iloc[i]!r} "
                        f"on data row {i + 1}); expected {PERIOD_FORMATS}", column=pcol)
    table = pd.DataFrame({"period": [v[1] for v in parsed], "kind": [v[0] for v in parsed]})
    table["region"] = raw[rcol].map(lambda x: str(x).strip()) if rcol else ""

    ann = [c for c in raw.columns if c.lower() in ANNOTATION_COLUMNS]
    ind_cols = [c for c in raw.columns if c not in (pcol, rcol) and c not in ann]
    if not ind_cols:
        raise DataError(src, "no indicator column; expected one or more numeric columns such "
                        f"as {', '.join(KNOWN_INDICATORS)}")
    for c in ind_cols:
        vals = raw[c].map(lambda x: str(x).strip())
        if sep != ",":
            vals = vals.str.replace(",", ".", regex=False)
        num = pd.to_numeric(vals.replace("", np.nan), errors="coerce")
        badv = num.isna() & (vals != "")
        if badv.any():
            i = int(np.flatnonzero(badv.to_numpy())[0])
            raise DataError(src, f"{int(badv.sum())} value(s) are not numbers (first: "
                            f"{raw[c].iloc[i]!r} on data row {i + 1}); expected a number such "
                            "as 3.8, or an empty cell for 'not covered'", column=c)
        if c == "unemployment_rate" and num.notna().any():
            if num.min() < 0 or num.max() > 100:
                raise DataError(src, "values outside 0-100; expected the unemployment rate "
                                "in percent of the labour force (e.g. 3.8)", column=c)
            if num.max() < 1:
                raise DataError(src, "all values are below 1: these look like fractions; "
                                "expected percentages of the labour force (3.8, not 0.038)",
                                column=c)
        table[c] = num.to_numpy(dtype=float)
    for c in ann:
        table[c] = raw[c].to_numpy()

    key = table["region"].map(_norm_region) + "|" + table["period"]
    dup = key.duplicated(keep=False)
    if dup.any():
        first = table[dup].iloc[0]
        where = f" in region {first['region']!r}" if first["region"] else ""
        raise DataError(src, f"period {first['period']}{where} appears more than once; "
                        "expected one row per period (and region)", column=pcol)
    regions = sorted({r for r in table["region"] if r})
    meta = {"file": src, "citation": citation, "indicators": ind_cols, "regions": regions,
            "kinds": sorted(set(table["kind"])), "annotations": ann}
    return table, meta


@lru_cache(maxsize=32)
def _cached_table(path: str, mtime: float) -> tuple[pd.DataFrame, dict]:
    return read_series_table(path)


def load_table(series: str | Path = "default", base: Path | None = None
               ) -> tuple[pd.DataFrame, dict]:
    """The checked series table and its metadata (cached per file and modification time)."""
    p = resolve_path(series, base)
    if not p.exists():
        read_series_table(p)  # raises the DataError
    table, meta = _cached_table(str(p), p.stat().st_mtime)
    meta = dict(meta, series="default" if str(series) == "default" else str(series))
    return table.copy(), meta
