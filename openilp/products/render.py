"""Products as HTML (Jinja templates an agency may override) and PDF (WeasyPrint, tagged).

The bundled templates live in ``openilp/products/templates/``: ``base.html`` (page frame: agency
header, handling marking at the top and foot of every page, the handling box), one template per
product (``compstat.html``, ``bulletin.html``), the sections they include (``compstat/*.html``,
``bulletin/*.html``) and ``products.css``. An agency changes its badge, header text or sections
without code by putting files of the same name in its template folder (setting
``products_template_dir``): a file found there is used instead of the bundled one, and
``badge.png`` or ``badge.svg`` there becomes the badge in every header.

The PDF is tagged (``pdf_tags``): headings, tables, lists and image alt texts are in its structure
tree, so a screen reader can navigate it.

>>> print(css_string('say "hi" </style>'))
"say \\"hi\\" \\3c /style\\3e "
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["BUNDLED_TEMPLATES", "badge_data_uri", "css_string", "html_to_pdf", "render_html"]

#: The templates shipped with OpenILP.
BUNDLED_TEMPLATES = Path(__file__).resolve().parent / "templates"
_BADGE_TYPES = {"badge.svg": "image/svg+xml", "badge.png": "image/png"}


def css_string(value: object) -> str:
    """``value`` as a quoted CSS string (for ``content:`` in page margin boxes), safe inside ``<style>``.

    Quotes and backslashes are escaped, ``<`` and ``>`` become CSS escapes (so no ``</style>`` can
    end the stylesheet early) and line breaks become spaces.
    """
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    text = text.replace("<", "\\3c ").replace(">", "\\3e ")
    return f'"{text}"'


@functools.lru_cache(maxsize=8)
def _environment(template_dir: str | None) -> Any:
    import jinja2
    import markupsafe

    folders = [template_dir] if template_dir else []
    loader = jinja2.FileSystemLoader([*folders, str(BUNDLED_TEMPLATES)])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["css_string"] = lambda value: markupsafe.Markup(css_string(value))
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    return env


def badge_data_uri(template_dir: str | Path | None) -> str:
    """The agency's badge (``badge.svg`` or ``badge.png`` in its template folder) as a data URI, or ''."""
    if not template_dir:
        return ""
    for name, mime in _BADGE_TYPES.items():
        path = Path(template_dir) / name
        if path.is_file():
            return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return ""


def render_html(template: str, context: Mapping[str, Any], *, template_dir: str | Path | None) -> str:
    """Render ``template`` with ``context``; files in ``template_dir`` win over the bundled ones."""
    env = _environment(str(template_dir) if template_dir else None)
    return str(env.get_template(template).render(**context))


def html_to_pdf(html: str) -> tuple[bytes, int]:
    """The PDF of ``html`` (tagged; page size from the stylesheet) and its number of pages, with WeasyPrint.

    Images must be inline (``data:`` URIs): only those are read, nothing is fetched.
    """
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols=["data"])
    document = HTML(string=html, url_fetcher=fetcher, base_url=str(BUNDLED_TEMPLATES)).render(pdf_tags=True)
    return bytes(document.write_pdf(pdf_tags=True)), len(document.pages)
