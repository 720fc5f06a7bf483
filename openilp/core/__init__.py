"""The core floor: the one object the shells build, and the contract every service follows.

* :class:`OpenILP` (:mod:`openilp.core.instance`): settings, store, clock, boundary layers, the
  result cache, the background jobs and the secret box; ``unit_of_work(actor)`` opens a service
  call's transaction.
* :class:`UnitOfWork` (:mod:`openilp.core.unit_of_work`): commit before answering, audited
  refusals that survive the rollback, one clock.
* :class:`Request` and :class:`Result` (:mod:`openilp.core.contract`): validated requests with
  their defaults, frozen results with ``as_dict()``.

The core sits between the services and the security and storage floors: it imports
``openilp.security``, ``openilp.db`` and the pure library, never the services or the shells.
"""

from openilp.core.boundaries import BoundaryLayer, BoundaryRegistry
from openilp.core.cache import ResultCache
from openilp.core.contract import Request, Result, plain, require
from openilp.core.instance import OpenILP
from openilp.core.jobs import Job, JobRunner
from openilp.core.unit_of_work import UnitOfWork

__all__ = [
    "BoundaryLayer",
    "BoundaryRegistry",
    "Job",
    "JobRunner",
    "OpenILP",
    "Request",
    "Result",
    "ResultCache",
    "UnitOfWork",
    "plain",
    "require",
]
