"""Intelligence products as documents: handling markings, maps, charts and HTML/PDF rendering.

A pure floor, like :mod:`openilp.analysis`: no database and no web framework. The services in
:mod:`openilp.services.products` gather the numbers (from the same trend, near-repeat and series
services the pages use), and this package turns them into a document a commander or an officer
reads:

* :mod:`~openilp.products.marking` — the TLP marking, handling code and 28 CFR Part 23 caveat of
  the most restrictive item a product holds, and the screening of restricted items;
* :mod:`~openilp.products.figures` — static maps drawn with matplotlib from the agency's boundary
  layer and the incidents (no tile server), and charts, each readable in grayscale;
* :mod:`~openilp.products.render` — HTML from Jinja templates an agency may override, and PDF from
  that HTML with WeasyPrint (tagged PDF: headings, tables and image alt text reach screen readers).
"""

from openilp.products.marking import (
    CAVEAT_CRIMINAL_INTELLIGENCE,
    CAVEAT_NO_INTELLIGENCE,
    TLP_LEVELS,
    ContentItem,
    Marking,
    RestrictedContent,
    most_restrictive,
    screen_items,
)

__all__ = [
    "CAVEAT_CRIMINAL_INTELLIGENCE",
    "CAVEAT_NO_INTELLIGENCE",
    "TLP_LEVELS",
    "ContentItem",
    "Marking",
    "RestrictedContent",
    "most_restrictive",
    "screen_items",
]
