"""The transparency report as a printable PDF, drawn with Matplotlib's ``PdfPages`` (no new dependency).

The PDF carries exactly the report's rows, the same cells as the page and the CSV, already
suppressed (every count below 5 shown as ``<5``), so nobody is identifiable in any public output.
Rows flow over as many A4 pages as they need (a sentence, such as a model's accuracy, is wrapped
under its measure), each page titled with the agency and the period,
and the notes close the last page.
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openilp.services.transparency.report import TransparencyReport

__all__ = ["PAGE_HEIGHT", "paginate", "report_lines", "report_pdf"]

#: The height of the table on one A4 page (figure fraction; the notes take the rest of the last page).
PAGE_HEIGHT = 0.72
#: Longer values (sentences) are wrapped under their measure instead of right-aligned beside it.
LONG_VALUE = 24


def report_lines(report: TransparencyReport) -> list[tuple[str, str, str]]:
    """The table as drawn: ``(section, measure, value)``, the section written once per block."""
    lines: list[tuple[str, str, str]] = []
    previous = None
    for section, measure, value in report.rows:
        lines.append((section if section != previous else "", measure, value))
        previous = section
    return lines


def _height(section: str, value: str) -> float:
    """The height one row takes on the page (figure fraction)."""
    wrapped = 0 if len(value) <= LONG_VALUE else len(textwrap.wrap(value, 105))
    return 0.02 + (0.02 if section else 0.0) + 0.016 * wrapped


def paginate(lines: list[tuple[str, str, str]]) -> list[list[tuple[str, str, str]]]:
    """The rows split into pages by the height they take (:data:`PAGE_HEIGHT`), in order."""
    pages: list[list[tuple[str, str, str]]] = [[]]
    used = 0.0
    for line in lines:
        height = _height(line[0], line[2])
        if pages[-1] and used + height > PAGE_HEIGHT:
            pages.append([])
            used = 0.0
        pages[-1].append(line)
        used += height
    return pages


def report_pdf(report: TransparencyReport) -> bytes:
    """The report as PDF bytes (A4 portrait)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    pages = paginate(report_lines(report))
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
                if len(value) <= LONG_VALUE:
                    figure.text(0.92, y, value, fontsize=8.5, ha="right")
                else:  # a sentence (a test's status, a model's accuracy): wrapped under its measure
                    for part in textwrap.wrap(value, 105):
                        y -= 0.016
                        figure.text(0.11, y, part, fontsize=7.5)
                y -= 0.02
            if number == len(pages):
                for note in report.notes:
                    for part in textwrap.wrap(note, 110):
                        y -= 0.016
                        figure.text(0.06, y, part, fontsize=7.5, style="italic")
            pdf.savefig(figure)
    return buffer.getvalue()
