"""A drawn figure in the reader's language: every text translated in one place, at save time.

Estimators draw their diagnostic figures in English (titles, axis labels, legends,
annotations, tick labels). Rather than thread a language through every drawing function,
:func:`localise_figure` walks a finished matplotlib figure and puts each text through the
phrase table (:func:`causal.messages.translate.tr`; the figures' wording is in
``causal/messages/figures.yaml``, section ``fig_labels``, matched against whole lines only),
and writes the numbers on its axes the Dutch way (decimal comma, thousands dot) with a
tick formatter, so no system locale is needed.

A line that is only names and numbers (the measure's id, the spec's title, a data column, a
category, the outcome's unit) is left as it is: names are not translated, but a spec's
outcome label is shown in its Dutch wording (``outcome.label_nl``) where the spec gives one.

Written by hand: matplotlib has no translation hook; the walk over its artists (titles,
axis labels, legend texts, ``ax.texts``, tick formatters) is a few dozen lines.
"""
from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd
from matplotlib import dates as mdates
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.text import Text
from matplotlib.ticker import Formatter, NullFormatter

from causal.messages import DEFAULT_LANG, catalogue, dutch_separators
from causal.messages.translate import exact, tr

#: a number as matplotlib and netto's f-strings write it in English (1,600; 0.25; −3.5)
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z]{3}")
_DUMMY = re.compile(r"^(\S+)\[T\.([^\]]+)\]$")


def decimal_comma(s: str) -> str:
    """Every number in ``s`` written the Dutch way: 1,600.5 -> 1.600,5."""
    return _NUMBER.sub(lambda m: dutch_separators(m.group()), s)


def _words(keys: list[str]) -> re.Pattern[str] | None:
    """A pattern matching any of ``keys`` (longest first) as whole words."""
    keys = [k for k in keys if k and k.strip()]
    return re.compile("|".join(rf"(?<!\w){re.escape(k)}(?!\w)" for k in keys)) if keys else None


class Localiser:
    """Translates figure texts into ``lang`` line by line; ``seen`` lists every
    (English, shown) pair it was given, for tests and for a reader checking a figure.
    ``names``: the study's names (kept as they are) mapped to how they are shown (the same,
    or the spec's Dutch wording)."""

    def __init__(self, lang: str, names: Mapping[str, str] | Iterable[str] = ()) -> None:
        self.lang = lang
        given = dict(names) if isinstance(names, Mapping) else {n: n for n in names}
        # the study's names, and the twins' English column names as Dutch figures show them
        shown = catalogue().get(lang, {}).get("fig_names", {}) if lang != DEFAULT_LANG else {}
        self.names = {**given, **{k: v for k, v in shown.items() if given.get(k, k) == k}}
        keys = sorted({k for kv in self.names.items() for k in kv if k and k.strip()},
                      key=len, reverse=True)
        self._names_rx = _words(keys)
        swap = {k: v for k, v in self.names.items() if k and k != v}
        self._swap_rx = _words(sorted(swap, key=len, reverse=True))
        self._swap = swap
        self._done: dict[str, str] = {}

    def plain(self, line: str) -> bool:
        """Only names, numbers and signs: nothing to translate."""
        rest = self._names_rx.sub(" ", line) if self._names_rx else line
        return not _WORD.search(_NUMBER.sub(" ", rest))

    def __call__(self, text: str) -> str:
        if self.lang == DEFAULT_LANG or not isinstance(text, str) or not text.strip():
            return text
        if text not in self._done:
            self._done[text] = "\n".join(self._line(x) for x in text.split("\n"))
        return self._done[text]

    @property
    def seen(self) -> list[tuple[str, str]]:
        return list(self._done.items())

    def _line(self, line: str) -> str:
        if not line.strip():
            return line
        whole = exact(line, self.lang)  # a label first, even where a column shares its name
        if whole is not None:
            return whole
        if line.strip() in self.names:  # a name as a whole: a spec's title, a category
            return line.replace(line.strip(), self.names[line.strip()])
        if self._swap_rx:  # names shown in Dutch: the spec's Dutch outcome label, say
            line = self._swap_rx.sub(lambda m: self._swap[m.group()], line)
        line = _DUMMY.sub(r"\1: \2", line)  # formulaic's education[T.hbo]: opleiding: hbo
        whole = exact(line, self.lang)
        if whole is not None:
            return whole
        if self.plain(line):
            return decimal_comma(line)
        return tr(line, self.lang)


class LocalisedFormatter(Formatter):
    """Wraps an axis' tick formatter: its labels go through a :class:`Localiser` (numbers
    with a decimal comma, category labels translated)."""

    def __init__(self, inner: Formatter, say: Localiser) -> None:
        self.inner, self.say = inner, say

    def set_axis(self, axis: Any) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs: Any) -> None:
        self.inner.set_locs(locs)

    def format_ticks(self, values: Any) -> list[str]:
        return [self.say(s) for s in self.inner.format_ticks(values)]

    def __call__(self, x: Any, pos: Any = None) -> str:
        return self.say(self.inner(x, pos))

    def get_offset(self) -> str:
        return self.say(self.inner.get_offset())

    def format_data_short(self, value: Any) -> str:
        return self.say(self.inner.format_data_short(value))


_DATES = (mdates.DateFormatter, mdates.AutoDateFormatter, mdates.ConciseDateFormatter)


def figure_texts(fig: Any) -> Iterator[Text]:
    """Every text artist of a figure: its own texts (suptitle, labels), and per axes
    (colorbars included) the three titles, the axis labels, ``ax.texts`` (annotations,
    contour labels) and the legend's title and entries; subfigures too."""
    yield from fig.texts
    for sub in getattr(fig, "subfigs", []):
        yield from figure_texts(sub)
    legends = list(getattr(fig, "legends", []))
    for ax in fig.axes:
        yield from (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label)
        yield from ax.texts
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    for leg in legends:
        yield leg.get_title()
        yield from leg.get_texts()


def localise_figure(fig: Any, lang: str,
                    names: Localiser | Mapping[str, str] | Iterable[str] = ()) -> Localiser:
    """Translate ``fig``'s texts into ``lang`` in place and write its axes' numbers the way
    ``lang`` does; re-runs the layout (the Dutch labels are longer) unless the figure has a
    layout engine of its own. Returns the :class:`Localiser` (its ``seen``: what was
    translated; tick labels join it when the figure is drawn). ``names`` may be a Localiser
    shared by the figures of one study (its names' patterns compiled once, its translations
    reused). English: nothing changes."""
    if lang == DEFAULT_LANG:
        return Localiser(lang)
    say = names if isinstance(names, Localiser) else Localiser(lang, names)
    for t in figure_texts(fig):
        s = t.get_text()
        if s and s.strip():
            t.set_text(say(s))
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                             (axis.get_minor_formatter, axis.set_minor_formatter)):
                f = get()
                if not isinstance(f, (NullFormatter, LocalisedFormatter, *_DATES)):
                    put(LocalisedFormatter(f, say))
    fit_labels(fig)
    # drawn with a one-off tight_layout (a place-holder engine is left) or none: lay out again
    if fig.get_layout_engine() is None or isinstance(fig.get_layout_engine(),
                                                     PlaceHolderLayoutEngine):
        fig.tight_layout()
    return say


def fit_labels(fig: Any, em: float = 0.62) -> None:
    """Wrap a title or x label longer than the figure is wide, or a y label longer than its
    axes are high, onto more lines, so the longer Dutch wording never runs past the plot
    (``em``: the average character width as a share of the font size, DejaVu Sans)."""
    w, h = fig.get_size_inches() * 72
    for ax in fig.axes:
        high = max(ax.get_position().height * h, 0.5 * h)
        for t, room in ((ax.title, w), (ax._left_title, w / 2), (ax._right_title, w / 2),
                        (ax.xaxis.label, w), (ax.yaxis.label, high)):
            width = max(12, int(room / (em * t.get_fontsize())))
            lines = t.get_text().split("\n")
            if any(len(x) > width for x in lines):
                t.set_text("\n".join(textwrap.fill(x, width) for x in lines))


def study_names(study: Any) -> dict[str, str]:
    """The names a study's figures show (kept as they are): the measure's id and title, the
    outcome's unit, the data's columns and their categories (up to 200 levels); the
    outcome's label shown as the spec's Dutch label when it has one."""
    spec = study.spec
    out = {n: n for n in (spec.measure, spec.title, study.unit, *study.covariates) if n}
    data = study.data
    for c in data.columns:
        out[str(c)] = str(c)
        col = data[c]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            levels = col.dropna().unique()
            if len(levels) <= 200:
                out.update((str(v), str(v)) for v in levels)
    label, label_nl = spec.outcome.label, spec.outcome.label_nl
    if label:
        out[label] = label_nl or label
    return out


def info_names(info: Mapping[str, Any]) -> dict[str, str]:
    """:func:`study_names` from a report's study info (no data: measure, title, outcome)."""
    out = {n: n for n in (info.get("measure"), info.get("title")) if n}
    oc = info.get("outcome") or {}
    if oc.get("label"):
        out[oc["label"]] = oc.get("label_nl") or oc["label"]
    return out


__all__ = ["Localiser", "LocalisedFormatter", "decimal_comma", "figure_texts", "fit_labels",
           "info_names", "localise_figure", "study_names"]
