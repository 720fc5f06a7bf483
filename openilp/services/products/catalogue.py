"""Every product kind, registered: what the command line and the web app use to build one again.

Each kind's module registers how to rebuild it from stored parameters when imported; this module
imports them all, so :func:`rerender_product` can rebuild any stored version in a fresh process.
"""

from __future__ import annotations

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.products import bulletin, compstat, problem_profile, safety_alert
from openilp.services.products.common import PRODUCT_KINDS, Rerendered, rerender

__all__ = ["KIND_MODULES", "rerender_product"]

#: Kind → the module that builds it.
KIND_MODULES = {
    "compstat": compstat,
    "bulletin": bulletin,
    "safety_alert": safety_alert,
    "problem_profile": problem_profile,
}
assert set(KIND_MODULES) <= set(PRODUCT_KINDS)


def rerender_product(core: OpenILP, actor: UserInfo | None, product_id: int) -> Rerendered:
    """Build stored product ``product_id`` again from its parameters (any kind) and compare its numbers."""
    return rerender(core, actor, product_id)
