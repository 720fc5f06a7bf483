"""The transparency report as a printable PDF, drawn with Matplotlib's ``PdfPages`` (no new dependency).

The PDF carries exactly the report's rows, the same cells as the page and the CSV, already
suppressed (every count below 5 shown as ``<5``), so nobody is identifiable in any public output.
Rows flow over as many A4 pages as they need, each page titled with the agency and the period,
and the notes close the last page.
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openilp.services.transparency.report import TransparencyReport

__all__ = ["report_lines", "report_pdf", "ROWS_PER_PAGE"]

#: Table rows on one A4 page.
ROWS_PER_PAGE = 38


def report_lines(report: TransparencyReport) -> list[tuple[str, str, str]]:
    """The table as drawn: ``(section, measure, value)``, the section written once per block."""
    lines: list[tuple[str, str, str]] = []
    previous = None
    for section, measure, value in report.rows:
        lines.append((section if section != previous else "", measure, value))
        previous = section
    return lines


def report_pdf(report: TransparencyReport) -> bytes:
    """The report as PDF bytes (A4 portrait)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    lines = report_lines(report)
    pages = [lines[i : i + ROWS_PER_PAGE] for i in range(0, len(lines), ROWS_PER_PAGE)] or [[]]
    buffer = io.BytesIO()
    title = f"Transparency report: {report.agency_name} ({report.agency_code}), {report.period}"
    with PdfPages(buffer, metadata={"Title": title, "Creator": "OpenILP"}) as pdf:
        for number, page in enumerate(pages, start=1):
            figure = Figure(figsize=(8.27, 11.69))
            figure.text(0.06, 0.96, title, fontsize=12, weight="bold")
            figure.text(
                0.06,
                0.94,
                f"Aggregate counts only; every count below 5 is shown as <5. Page {number} of {len(pages)}.",
                fontsize=8,
            )  # noqa: E501
            y = 0.91
            for section, measure, value in page:
                if section:
                    figure.text(0.06, y, section, fontsize=9, weight="bold")
                    y -= 0.02
                figure.text(0.09, y, textwrap.shorten(measure, 95), fontsize=8.5)
                figure.text(0.92, y, value, fontsize=8.5, ha="right")
                y -= 0.02
            if number == len(pages):
                for note in report.notes:
                    for part in textwrap.wrap(note, 110):
                        y -= 0.016
                        figure.text(0.06, y, part, fontsize=7.5, style="italic")
            pdf.savefig(figure)
    return buffer.getvalue()
