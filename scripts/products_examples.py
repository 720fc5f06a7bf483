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
``--kinds hotspot`` renders the bulletin of the strongest burglary hot spot in force on the same day,
as ``openilp products bulletin --hot-spot`` does (``products-hotspot-page-<n>.png``).

The strategic assessment of 2019 needs all of 2019 (``openilp demo`` or ``openilp import stlouis
openilp/demo_data/stlouis/monthly``); ``--kinds strategic`` renders it alone, as ``openilp products
strategic --year 2019`` does.

``--kinds problem_profile --problem ID --user NAME`` renders the profile of a SARA problem as that
user, as ``openilp products problem-profile`` does (the Dutchtown example of docs/products.md: the
store above from June 2018, burglary in Dutchtown opened with the baseline 2018-07-02 to
2019-01-06, the evaluation 2019-01-07 to 2019-06-30, comparison areas proposed and the assessment
run; ``--as-of 2019-06-30``).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pypdfium2

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import User
from openilp.security.actors import UserInfo
from openilp.services.accounts.records import user_info
from openilp.services.products.bulletin import BulletinRequest, bulletin
from openilp.services.products.common import ProducedProduct
from openilp.services.products.compstat import CompStatPackRequest, compstat_pack
from openilp.services.products.problem_profile import ProblemProfileRequest, problem_profile
from openilp.services.products.strategic import StrategicAssessmentRequest, strategic_assessment

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--district", default="3")
    parser.add_argument("--week", default="2019-06-03")
    parser.add_argument("--pages", default="1,3", help="Pack pages to write as PNG (1-based, comma-separated).")
    parser.add_argument("--as-of", default="2019-06-09", help="Last day the bulletin's series is searched to.")
    parser.add_argument("--bulletin-pages", default="1,2,3", help="Bulletin pages to write as PNG.")
    parser.add_argument("--hotspot-pages", default="1,2", help="Hot-spot bulletin pages to write as PNG.")
    parser.add_argument("--year", type=int, default=2019, help="Year of the strategic assessment.")
    parser.add_argument("--strategic-pages", default="1,3", help="Strategic assessment pages to write as PNG.")
    parser.add_argument(
        "--kinds", default="compstat,bulletin,hotspot,strategic", help="Products to render (comma-separated)."
    )
    parser.add_argument("--problem", type=int, default=0, help="The SARA problem of the problem profile.")
    parser.add_argument("--user", default="", help="Account the problem profile reads the problem as.")
    parser.add_argument("--profile-as-of", default="", help="Goal progress of the profile up to this day.")
    parser.add_argument("--profile-pages", default="1,2,3", help="Problem profile pages to write as PNG.")
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
    if "hotspot" in kinds:
        spot = BulletinRequest("SLMPD", "burglary", dt.date.fromisoformat(args.as_of), hot_spot=True)
        _write_pages(bulletin(core, None, spot), args.hotspot_pages, args.scale, name="hotspot")
    if "strategic" in kinds:
        assessment = strategic_assessment(core, None, StrategicAssessmentRequest("SLMPD", args.year))
        _write_pages(assessment, args.strategic_pages, args.scale)
    if "problem_profile" in kinds:
        actor = _user(core, args.user)
        as_of = dt.date.fromisoformat(args.profile_as_of) if args.profile_as_of else None
        profile = problem_profile(core, actor, ProblemProfileRequest(args.problem, as_of, actor.agency_code))
        _write_pages(profile, args.profile_pages, args.scale)


def _user(core: OpenILP, username: str) -> UserInfo:
    from sqlalchemy import func, select

    with session_scope(core.engine) as session:
        user_id = session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
        info = None if user_id is None else user_info(session, int(user_id))
    if info is None:
        raise SystemExit(f"no user {username!r}: give --user NAME of an analyst")
    return info


def _write_pages(produced: ProducedProduct, pages: str, scale: float, name: str = "") -> None:
    document = pypdfium2.PdfDocument(produced.pdf)
    for number in (int(p) for p in pages.split(",") if p):
        image = document[number - 1].render(scale=scale, grayscale=True).to_pil().convert("L")
        target = IMAGES / f"products-{name or produced.kind.replace('_', '-')}-page-{number}.png"
        image.save(target, format="PNG", optimize=True)
        print(f"{target.name}: {image.size[0]}×{image.size[1]} px, {target.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
