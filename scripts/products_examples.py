"""Render the example pages of docs/products.md: St. Louis district 3's pack, a bulletin, the 2019 assessment.

Runs on a store holding St. Louis from January 2018 to June 2019 (the year to date and the same
period last year), for example::

    OPENILP_DATA_DIR=var/products .venv/bin/openilp import stlouis ../shared/data/stlouis/monthly/2018 \\
        ../shared/data/stlouis/monthly/2019/{january,february,march,april,may,june}2019.csv
    OPENILP_DATA_DIR=var/products .venv/bin/python scripts/products_examples.py

It produces the pack for the week of 2019-06-03 through the same service as ``openilp products
compstat``, and the bulletin of the strongest possible burglary series in the 60 days to 2019-06-09
as ``openilp products bulletin`` does, and writes their pages as small grayscale PNG images to
``docs/images/products-<kind>-page-<n>.png`` (pypdfium2, a development dependency).

The strategic assessment of 2019 needs all of 2019 (``openilp demo`` or ``openilp import stlouis
openilp/demo_data/stlouis/monthly``); ``--kinds strategic`` renders it alone, as ``openilp products
strategic --year 2019`` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pypdfium2

from openilp.core import OpenILP
from openilp.services.products.bulletin import BulletinRequest, bulletin
from openilp.services.products.common import ProducedProduct
from openilp.services.products.compstat import CompStatPackRequest, compstat_pack
from openilp.services.products.strategic import StrategicAssessmentRequest, strategic_assessment

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--district", default="3")
    parser.add_argument("--week", default="2019-06-03")
    parser.add_argument("--pages", default="1,3", help="Pack pages to write as PNG (1-based, comma-separated).")
    parser.add_argument("--as-of", default="2019-06-09", help="Last day the bulletin's series is searched to.")
    parser.add_argument("--bulletin-pages", default="1,2,3", help="Bulletin pages to write as PNG.")
    parser.add_argument("--year", type=int, default=2019, help="Year of the strategic assessment.")
    parser.add_argument("--strategic-pages", default="1,3", help="Strategic assessment pages to write as PNG.")
    parser.add_argument("--kinds", default="compstat,bulletin,strategic", help="Products to render (comma-separated).")
    parser.add_argument("--scale", type=float, default=0.85, help="Pixels per PDF point (0.85: about 61 dpi).")
    args = parser.parse_args()
    kinds = set(args.kinds.split(","))
    core = OpenILP.from_environment()
    if "compstat" in kinds:
        request = CompStatPackRequest("SLMPD", args.district, dt.date.fromisoformat(args.week))
        _write_pages(compstat_pack(core, None, request), args.pages, args.scale)
    if "bulletin" in kinds:
        series = BulletinRequest("SLMPD", "burglary", dt.date.fromisoformat(args.as_of))
        _write_pages(bulletin(core, None, series), args.bulletin_pages, args.scale)
    if "strategic" in kinds:
        assessment = strategic_assessment(core, None, StrategicAssessmentRequest("SLMPD", args.year))
        _write_pages(assessment, args.strategic_pages, args.scale)


def _write_pages(produced: ProducedProduct, pages: str, scale: float) -> None:
    document = pypdfium2.PdfDocument(produced.pdf)
    for number in (int(p) for p in pages.split(",") if p):
        image = document[number - 1].render(scale=scale, grayscale=True).to_pil().convert("L")
        target = IMAGES / f"products-{produced.kind.replace('_', '-')}-page-{number}.png"
        image.save(target, format="PNG", optimize=True)
        print(f"{target.name}: {image.size[0]}×{image.size[1]} px, {target.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
