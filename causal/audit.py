"""``causal audit REPORTS_DIR``: check a report folder against the disclosure rules, from
what is on disk only.

It shares no logic with the code that wrote the folder (causal/report/gate.py): it re-reads
every file (json, csv, md, html, xlsx, docx, figure manifests) and checks the rules again, so
a writer bug is caught. A researcher hands its output to the output checker with the folder.

Checks (rules of thumb of the ESSnet output-checking guidelines, Brandt et al. 2010, which
the CBS output guidelines for Remote Access apply; thresholds from the folder's own
``disclosure`` blocks, never below the command line's ``--min-cell``):

- person counts (keys ``n``, ``n_*``, ``*_n``, ``rows``, ``count``, ``*_count``, ``units``,
  ...; not ``n_covariates`` and other structural counts) are 0, ``"<k"`` or at least
  ``min_cell`` and a multiple of the rounding base;
- a record (a JSON object) with a person count under ``min_cell`` shows no other number;
- headline figures (gross, net, interval, counterfactual; CSV and xlsx columns of those
  names) have at most ``percent_decimals`` decimals; no private ``_gate`` key is left;
- text (md, html, docx, warnings and notes): no "x of y", "n = x", "x persons/rows" with x
  under ``min_cell`` or not rounded, no percentage with more decimals than allowed; figures
  published by the source reports (a summary's ``reported`` block) are public and exempt;
- every figure (png, svg, pdf) and data file (nc) has a manifest whose records pass the
  count rules and which lists it; files of unknown type cannot be checked and are listed.

Exit 0 when clean, 1 with violations, 2 when the folder cannot be read.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from causal.errors import NettoError

STRUCTURAL = {
    "n_covariates", "n_cells", "n_groups", "n_steps", "n_strata", "n_regions", "n_draws",
    "n_bins", "n_clusters", "n_periods", "n_cohorts", "n_folds", "n_chains", "n_params",
    "n_estimators", "n_specs", "n_measures", "n_tune", "n_levels", "n_knots", "n_events_times",
}
EXTRA_PERSON_KEYS = {"units", "never_treated_units", "person_months",
                     "exits_to_work_within_horizon", "reach_aow_within_horizon"}
HEADLINE_KEYS = {"net", "ci_low", "ci_high", "gross", "counterfactual", "gross_on_data"}
FIGURES = {".png", ".svg", ".pdf", ".jpg", ".jpeg"}
DATA_FILES = {".nc", ".parquet", ".feather", ".npz", ".pkl", ".pickle", ".dta", ".sav"}
TEXT_COUNT = re.compile(
    r"(?<![\w.,])(\d[\d,]*)\s+(?:of|out of|/)\s+(\d[\d,]*)(?![\w.])(?!\s+(?:\w+\s+)?"
    r"(?:groups?|regions?|intercepts?|effects?|covariates?|estimators?|cells?|strata|periods?|"
    r"cohorts?|specs?|measures?|months?|years?|quarters?|folds?|chains?|simulations?|draws?|"
    r"bins?|sectors?|projects?|refutations?|tests?|levels?|categories|clusters?)\b)"
    r"|\bn\s*=\s*(\d[\d,]*)|(?<![\w.,])(\d[\d,]*)\s+of\s+them\b"
    r"|(?<![\w.,])(\d[\d,]*)\s+(?:persons|people|rows|participants|jobseekers|treated|"
    r"untreated|controls|individuals|cases)\b(?!\s+(?:groups?|clusters?|regions?|sectors?|"
    r"projects?|cohorts?|periods?)\b)", re.I)
PERCENT = re.compile(r"(?<![\w.])(\d+\.(\d+))\s?%")


@dataclass
class Violation:
    file: str
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.problem}"


@dataclass
class Limits:
    min_cell: int = 10
    base: int = 5
    decimals: int = 1


def person_key(key: str) -> bool:
    k = str(key).lower()
    if k in STRUCTURAL or k.startswith("n_smd"):
        return False
    return (k in ("n", "rows", "count", "persons") or k in EXTRA_PERSON_KEYS
            or k.startswith("n_") or k.endswith("_n") or k.endswith("_count")
            or k.endswith("_rows"))


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _count_problem(v: Any, lim: Limits) -> str | None:
    if isinstance(v, str):
        s = v.strip().replace(",", "")
        if s in (f"<{lim.min_cell}", "", "-") or s.startswith("<"):
            return None
        try:
            v = float(s)
        except ValueError:
            return None
    if not _number(v):
        return None
    if v != int(v):
        return f"person count {v} is not a whole number"
    if 0 < v < lim.min_cell:
        return f"person count {int(v)} is under {lim.min_cell}"
    if v and lim.base > 1 and int(v) % lim.base:
        return f"person count {int(v)} is not rounded to a multiple of {lim.base}"
    return None


def _decimals(v: Any) -> int:
    if not _number(v) or isinstance(v, int):
        return 0
    s = repr(float(v))
    return 0 if "e" in s or "." not in s else len(s.split(".")[1].rstrip("0"))


class Auditor:
    def __init__(self, root: Path, min_cell: int = 10):
        self.root = root
        self.floor = min_cell
        self.violations: list[Violation] = []
        self.public: set[str] = set()
        self.manifested: set[Path] = set()
        self.quoted: set[str] = set()

    def add(self, path: Path, where: str, problem: str) -> None:
        self.violations.append(Violation(str(path.relative_to(self.root)), where, problem))

    def limits(self, doc: Any) -> Limits:
        d = doc.get("disclosure") or doc.get("rules") if isinstance(doc, dict) else None
        d = d if isinstance(d, dict) else {}
        k = max(int(d.get("min_cell") or 0), self.floor)
        return Limits(k, int(d.get("round_counts") or 5), int(d.get("percent_decimals", 1)))

    # -- JSON ----------------------------------------------------------------------------
    def walk(self, path: Path, obj: Any, where: str, lim: Limits, parent_count: bool = False) -> None:
        if isinstance(obj, dict):
            if "_gate" in obj:
                self.add(path, where or "/", "private gate data ('_gate') written out")
            small = [k for k, v in obj.items() if person_key(k) and _number(v)
                     and 0 < v < lim.min_cell]
            for key, v in obj.items():
                sub = f"{where}.{key}" if where else str(key)
                if key == "reported":
                    continue  # published by the source report: public
                if person_key(key) or parent_count:
                    if isinstance(v, (dict, list)):
                        self.walk(path, v, sub, lim, True)
                    else:
                        p = _count_problem(v, lim)
                        if p:
                            self.add(path, sub, p)
                    continue
                if key in HEADLINE_KEYS and _decimals(v) > lim.decimals:
                    self.add(path, sub, f"{v} has more than {lim.decimals} decimal(s)")
                if small and _number(v):
                    self.add(path, sub, "a number in a record resting on fewer than "
                             f"{lim.min_cell} persons")
                if isinstance(v, str):
                    self.text(path, v, sub, lim)
                else:
                    self.walk(path, v, sub, lim)
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                if parent_count and not isinstance(v, (dict, list)):
                    p = _count_problem(v, lim)
                    if p:
                        self.add(path, f"{where}[{i}]", p)
                else:
                    self.walk(path, v, f"{where}[{i}]", lim, parent_count)
        elif isinstance(obj, str):
            self.text(path, obj, where, lim)

    def collect_public(self, doc: Any) -> None:
        for r in (doc.get("reported") or []) if isinstance(doc, dict) else []:
            for key in ("value", "n"):
                v = r.get(key) if isinstance(r, dict) else None
                if _number(v):
                    self.public |= {f"{v:g}", f"{v:,.0f}", f"{v:.0f}", str(v)}
            for key in ("label", "citation"):
                if isinstance(r, dict) and isinstance(r.get(key), str):
                    self.public.add(r[key])
                    # figures quoted from the source report ("679 of 1,001") are public too
                    self.quoted |= {_norm(m.group(0)) for m in TEXT_COUNT.finditer(r[key])}

    # -- text ----------------------------------------------------------------------------
    def text(self, path: Path, s: str, where: str, lim: Limits) -> None:
        if not s or s in self.public:
            return
        for p in self.public:  # published figures and citations are public
            if len(p) > 12 and p in s:
                s = s.replace(p, " ")
        for m in TEXT_COUNT.finditer(s):
            if _norm(m.group(0)) in self.quoted:
                continue
            pub = {x.replace(",", "") for x in self.public}
            for num in (g for g in m.groups() if g):
                if num.replace(",", "") in pub:
                    continue
                prob = _count_problem(num, lim)
                if prob:
                    self.add(path, f"{where}: '{m.group(0)}'", prob)
        for m in PERCENT.finditer(s):
            if len(m.group(2)) > lim.decimals and m.group(1) not in self.public:
                self.add(path, f"{where}: '{m.group(0)}'",
                         f"percentage with more than {lim.decimals} decimal(s)")

    # -- tables --------------------------------------------------------------------------
    def table(self, path: Path, rows: list[list[Any]], lim: Limits, sheet: str = "") -> None:
        if not rows:
            return
        head = [str(h or "").strip().lower().replace(" ", "_") for h in rows[0]]
        for i, row in enumerate(rows[1:], start=2):
            for key, v in zip(head, row):
                where = f"{sheet}row {i}, column {key}"
                if v is None or v == "":
                    continue
                if person_key(key):
                    p = _count_problem(v, lim)
                    if p:
                        self.add(path, where, p)
                elif key in HEADLINE_KEYS:
                    try:
                        x = float(v)
                    except (TypeError, ValueError):
                        continue
                    if _decimals(x) > lim.decimals:
                        self.add(path, where, f"{v} has more than {lim.decimals} decimal(s)")
                elif isinstance(v, str):
                    self.text(path, v, where, lim)


def _norm(s: str) -> str:
    return " ".join(s.replace(",", "").split()).lower()


def _html_text(s: str) -> str:
    import html

    s = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", s)
    s = re.sub(r"(?s)<[^>]+>", " ", s)
    return html.unescape(s)


def audit(root: str | Path, min_cell: int = 10) -> list[Violation]:
    """Every violation of the disclosure rules in the folder (see the module doc)."""
    root = Path(root)
    if not root.is_dir():
        raise NettoError(f"{root}: not a folder of reports (give the --out folder of causal run)")
    a = Auditor(root, min_cell)
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and ".cache" not in p.relative_to(root).parts)
    summaries = [p for p in files if p.name == "summary.json"]
    lims: dict[Path, Limits] = {}
    for p in summaries:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            a.add(p, "-", f"cannot be read as JSON ({e})")
            continue
        a.collect_public(doc)
        lims[p.parent] = a.limits(doc)
    strict = Limits(max([x.min_cell for x in lims.values()] or [min_cell]),
                    min([x.base for x in lims.values()] or [5]),
                    min([x.decimals for x in lims.values()] or [1]))
    for p in files:
        lim = lims.get(p.parent, strict)
        ext = p.suffix.lower()
        try:
            if p.name.endswith(".manifest.json"):
                doc = json.loads(p.read_text(encoding="utf-8"))
                a.walk(p, doc, "", a.limits(doc) if doc.get("rules") else lim)
                for f in doc.get("files") or []:
                    a.manifested.add((p.parent / f).resolve())
                    if not (p.parent / f).exists():
                        a.add(p, "files", f"lists {f}, which is not in the folder")
            elif ext == ".json":
                a.walk(p, json.loads(p.read_text(encoding="utf-8")), "", lim)
            elif ext == ".csv":
                a.table(p, list(csv.reader(io.StringIO(p.read_text(encoding="utf-8-sig")))), lim)
            elif ext in (".md", ".txt"):
                for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                    a.text(p, line, f"line {i}", lim)
            elif ext in (".html", ".htm"):
                for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                    a.text(p, _html_text(line), f"line {i}", lim)
            elif ext == ".xlsx":
                from openpyxl import load_workbook

                wb = load_workbook(p, read_only=True, data_only=True)
                for ws in wb.worksheets:
                    a.table(p, [list(r) for r in ws.iter_rows(values_only=True)], lim,
                            f"sheet {ws.title}, ")
            elif ext == ".docx":
                import docx

                d = docx.Document(str(p))
                for i, para in enumerate(d.paragraphs, 1):
                    a.text(p, para.text, f"paragraph {i}", lim)
                for t, tab in enumerate(d.tables, 1):
                    a.table(p, [[c.text for c in r.cells] for r in tab.rows], lim, f"table {t}, ")
            elif ext in FIGURES or ext in DATA_FILES:
                pass  # checked against the manifests below
            else:
                a.add(p, "-", "a file of a type the audit cannot check; leave it out of the "
                      "release or check it by hand")
        except (OSError, ValueError, KeyError) as e:
            a.add(p, "-", f"cannot be read ({type(e).__name__}: {e})")
    for p in files:
        if (p.suffix.lower() in FIGURES or p.suffix.lower() in DATA_FILES) \
                and p.resolve() not in a.manifested:
            a.add(p, "-", "no manifest lists this figure or file: it did not pass the output "
                  "gate, so what it shows and the counts behind it are unknown")
    return a.violations


def cache_note(root: str | Path) -> str | None:
    """The batch cache holds unchecked intermediate results: say so."""
    c = Path(root) / ".cache"
    if c.is_dir():
        return (f"{c} holds intermediate results that were not checked (the batch cache): "
                "leave it out of what you hand over (delete it, or copy the folder without it)")
    return None


__all__ = ["audit", "Violation", "cache_note", "person_key"]
