"""Intelligence and tip routes, mirroring :mod:`openilp.services.intel`.

``api`` (JSON for staff), ``pages`` and ``corrections`` (record pages), ``admin`` (agreements and
grading scheme), ``groups`` (sharing groups), ``tip_pages`` (triage and rewards), ``tips_public``
(the anonymous tipster's pages and API), ``forms`` (reading the submission form). :data:`ROUTERS`
lists them in the order the app includes them.
"""

from fastapi import APIRouter

from openilp.web.routes.intel import admin, api, corrections, groups, pages, tip_pages, tips_public

__all__ = ["ROUTERS", "admin", "api", "corrections", "groups", "pages", "tip_pages", "tips_public"]

#: Every intelligence router, in inclusion order.
ROUTERS: tuple[APIRouter, ...] = (
    api.router,
    pages.router,
    corrections.router,
    admin.api,
    admin.pages,
    groups.api,
    groups.pages,
    tip_pages.router,
    tips_public.router,
    tips_public.api_router,
)
