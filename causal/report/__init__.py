"""Reports: per measure (summary.json, report.md, index.html, figures) and the portfolio."""
from causal.report.writer import measure_summary, render_figures, write_measure_report

__all__ = ["measure_summary", "render_figures", "write_measure_report"]
