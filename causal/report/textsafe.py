"""Text that leaves netto in a spreadsheet or a Markdown file cannot act as code.

- **Spreadsheet cells** (summary.csv, summary.xlsx): a text cell that starts with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel and LibreOffice as a
  formula ("CSV injection", OWASP). :func:`cell` prefixes such text with a single quote, the
  mitigation OWASP recommends; numbers are left as numbers.
- **Markdown** (report.md): spec text and data values (labels, region names, citations) may
  hold ``<script>``, link syntax or table pipes. :func:`md` escapes HTML and the Markdown
  characters that change structure, so the text reads as written (CommonMark backslash
  escapes; HTML entities for ``<``, ``>``, ``&``).

Written by hand: a dozen lines; the libraries that render Markdown do not escape for it.
"""
from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|#~!])")


def cell(v: Any) -> Any:
    """A spreadsheet-safe value: text starting like a formula gets a leading ``'``."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def md(v: Any) -> str:
    """Markdown-safe text: HTML entities for ``& < >``, backslash before Markdown syntax,
    line breaks folded (a value never starts a new block)."""
    if v is None:
        return ""
    s = str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return " ".join(s.split())
