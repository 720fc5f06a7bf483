"""The application factory: the web shell around one core object (:class:`openilp.core.OpenILP`).

The app keeps the core for its whole life; while it runs it anchors the audit chain's head every
``audit_anchor_interval_s`` seconds (:func:`anchor_on_schedule`).

>>> from openilp.config import Settings
>>> from openilp.core import OpenILP
>>> app = create_app(OpenILP(Settings(database_url="sqlite://", secret_key="k" * 32, audit_key="a" * 32)))
>>> [route for route in route_table(app) if route[0] == "GET"][:2]
[('GET', '/'), ('GET', '/admin/users')]
>>> ("POST", "/logout") in route_table(app)
True
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount

from openilp import __version__
from openilp.core import OpenILP
from openilp.intel.markings import TLP_MEANINGS
from openilp.services.accounts.audit_log import AnchorRequest, anchor_audit_log
from openilp.services.deconfliction import notify_partners
from openilp.services.federation import deliver_pending
from openilp.web.auth import SignInGateMiddleware
from openilp.web.bodylimit import BodySizeLimitMiddleware
from openilp.web.compression import GeoJSONGzipMiddleware
from openilp.web.context import STATIC_DIR, TEMPLATES_DIR, WebContext
from openilp.web.errors import install_error_handlers
from openilp.web.fetchmeta import CrossSiteApiMiddleware
from openilp.web.headers import SecurityHeadersMiddleware
from openilp.web.privacy import AnonymousPathsMiddleware, install_access_log_filter
from openilp.web.ratelimit import AnonymousRateLimitMiddleware
from openilp.web.routes import api, health, pages
from openilp.web.routes import deconfliction as deconfliction_routes
from openilp.web.routes import entities as entity_routes
from openilp.web.routes import exchange as exchange_routes
from openilp.web.routes import federation as federation_routes
from openilp.web.routes import networks as network_routes
from openilp.web.routes import problems as problem_routes
from openilp.web.routes import products as product_routes
from openilp.web.routes import series as series_routes
from openilp.web.routes import transparency as transparency_routes
from openilp.web.routes.accounts import ROUTERS as ACCOUNT_ROUTERS
from openilp.web.routes.analysis import ROUTERS as ANALYSIS_ROUTERS
from openilp.web.routes.intel import ROUTERS as INTEL_ROUTERS

__all__ = ["create_app", "app_from_environment", "anchor_on_schedule", "route_table", "SESSION_COOKIE"]

SESSION_COOKIE = "openilp_session"

log = logging.getLogger("openilp.web.app")


async def anchor_on_schedule(core: OpenILP, interval_s: float) -> None:
    """Every ``interval_s`` seconds, anchor the audit chain's head when it moved since the last anchor.

    Runs while the app runs (its lifespan); a failure is logged and retried at the next tick, and
    ``openilp audit anchor`` from cron does the same job when the schedule is off (``0``).
    """
    while True:
        await asyncio.sleep(interval_s)
        try:
            await run_in_threadpool(anchor_audit_log, core, None, AnchorRequest(only_if_moved=True))
        except Exception:  # the schedule must outlive a full disk or a syslog outage
            log.exception("anchoring the audit log failed; retrying in %s s", interval_s)


async def deliver_on_schedule(core: OpenILP, interval_s: float) -> None:
    """Send pending correction and purge notices, and deconfliction closure notices, to partner instances
    every ``interval_s`` seconds."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await run_in_threadpool(deliver_pending, core)
            await run_in_threadpool(notify_partners, core)
        except Exception:  # a missing key or a dead partner must not stop the schedule
            log.exception("sending federation notices failed; retrying in %s s", interval_s)


def prebuild_routes(routes: list[Any]) -> int:
    """Build every included router's request handlers now rather than on the first request.

    FastAPI builds the handlers of an included router (its parameter models and dependency graph)
    the first time a request reaches that router, one router at a time under a lock: the first
    burst of requests after start waited 200-400 ms for it. Called at start-up, so no visitor
    waits. Returns how many routers were built; with a FastAPI that builds its routes eagerly
    (no ``effective_candidates``) it does nothing.
    """
    built = 0
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is None:
            continue
        built += 1
        nested = list(candidates())
        low_priority = getattr(route, "effective_low_priority_routes", None)
        if low_priority is not None:
            nested.extend(low_priority())
        built += prebuild_routes(nested)
    return built


def create_app(core: OpenILP, *, https_only: bool = False) -> FastAPI:
    """Build the web application over ``core``.

    Parameters
    ----------
    core
        The deployment's core object: settings (secret key, session lifetimes, tiles, map limits),
        the store (not migrated here: run ``openilp db upgrade`` or call ``core.migrate()``), the
        clock (session timeouts, TOTP codes and every service read it), boundary layers and the
        result cache. The command line builds the same object, so both shells answer alike.
    https_only
        Mark the session cookie Secure and send HSTS; turn on behind HTTPS.
    """
    settings = core.settings
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    # What each TLP 2.0 level allows, for the marking badges of every page (_markings.html).
    templates.env.globals["tlp_meanings"] = TLP_MEANINGS
    context = WebContext(core=core, templates=templates, https_only=https_only)

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(core.warm_up)
        prebuild_routes(list(application.router.routes))
        # Everything built so far (modules, mappers, templates) lives as long as the server: move it
        # out of the collector's generations, so full collections under load stay short.
        gc.collect()
        gc.freeze()
        interval = settings.audit_anchor_interval_s
        tasks = [asyncio.create_task(anchor_on_schedule(core, interval))] if interval > 0 else []
        if settings.federation_delivery_interval_s > 0:
            tasks.append(asyncio.create_task(deliver_on_schedule(core, settings.federation_delivery_interval_s)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        lifespan=lifespan,
        title="OpenILP",
        version=__version__,
        docs_url=None,  # the interactive docs load scripts from a CDN; the schema is at /api/v1/openapi.json
        redoc_url=None,
        openapi_url=None,
    )
    app.state.openilp = context
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(api.router)
    for account_router in ACCOUNT_ROUTERS:
        app.include_router(account_router)
    for intel_router in INTEL_ROUTERS:
        app.include_router(intel_router)
    for analysis_router in ANALYSIS_ROUTERS:
        app.include_router(analysis_router)
    app.include_router(problem_routes.api)
    app.include_router(problem_routes.pages)
    app.include_router(product_routes.api)
    app.include_router(product_routes.pages)
    app.include_router(series_routes.api)
    app.include_router(series_routes.pages)
    app.include_router(entity_routes.api)
    app.include_router(entity_routes.pages)
    app.include_router(network_routes.designations_api)
    app.include_router(network_routes.designations_pages)
    app.include_router(network_routes.api)
    app.include_router(network_routes.pages)
    app.include_router(transparency_routes.router)
    app.include_router(deconfliction_routes.api)
    app.include_router(exchange_routes.api)
    app.include_router(deconfliction_routes.pages)
    app.include_router(federation_routes.partner)
    app.include_router(federation_routes.api)
    app.include_router(federation_routes.pages)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    install_error_handlers(app)
    # The last added middleware runs first: headers wrap everything, then the session, then the gate.
    app.add_middleware(GeoJSONGzipMiddleware)
    app.add_middleware(SignInGateMiddleware)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        # The cookie outlives idle sessions slightly; the gate enforces both timeouts server-side.
        max_age=settings.session_absolute_max_s,
        same_site="lax",
        https_only=https_only,
    )
    app.add_middleware(SecurityHeadersMiddleware, tile_url=settings.tile_url, https_only=https_only)
    # API requests made by another site's page are refused before anything runs (Fetch Metadata).
    app.add_middleware(CrossSiteApiMiddleware)
    # Bodies over the limit are refused before they are read.
    app.add_middleware(
        BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes
    )
    # Anonymous writes share one token bucket (no client address is ever looked at).
    app.add_middleware(AnonymousRateLimitMiddleware, rate_per_s=settings.public_rate_per_s, burst=settings.public_burst)
    # Outermost: public tip paths lose client address and identifying headers before anything sees them.
    app.add_middleware(AnonymousPathsMiddleware)
    install_access_log_filter()
    return app


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every ``(method, path)`` the app answers, sorted; a mount counts as ``("GET", prefix)``.

    Routes of included routers are flattened (FastAPI ≥ 0.16x keeps them nested in ``app.routes``).
    """
    flatten = getattr(routing, "iter_route_contexts", None)
    routes = list(flatten(app.routes)) if flatten is not None else list(app.routes)
    table: set[tuple[str, str]] = set()
    for route in routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount):
            table.add(("GET", original.path))
            continue
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", None)
        if not methods or not path:
            raise ValueError(f"route without methods or path: {route!r}")
        table.update((method, path) for method in methods if method != "HEAD")
    return sorted(table)


def app_from_environment() -> FastAPI:
    """The app configured from ``OPENILP_*`` variables, with a migrated store (uvicorn factory)."""
    return create_app(OpenILP.from_environment())
