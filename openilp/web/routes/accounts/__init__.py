"""Account routes, mirroring :mod:`openilp.services.accounts`.

``auth`` (sign-in, second factor, sign-out), ``audit`` (the audit log page and API), ``admin``
(administration of users, roles, reviewer training and sessions; ``/api/v1/users``).
:data:`ROUTERS` lists them in the order the app includes them.
"""

from fastapi import APIRouter

from openilp.web.routes.accounts import admin, audit, auth

__all__ = ["ROUTERS", "admin", "audit", "auth"]

#: Every account router, in inclusion order.
ROUTERS: tuple[APIRouter, ...] = (auth.router, audit.router, admin.api, admin.pages)
