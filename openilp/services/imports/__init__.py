"""Bringing police exports into the store: the import workflow and the demo load.

* ``run``: :func:`~openilp.services.imports.run.import_source`, idempotent, atomic per file,
  reconciled and audited (who imported which file, rows accepted and rejected);
* ``parsing``: reading and normalising the files in worker processes;
* ``state``: what the store already holds of a source's records, kept in memory for one run;
* ``demo``: the bundled St. Louis sample and the demo sign-in.

The public workflows take the core object, the actor and one request, and return a frozen result
(:mod:`openilp.core.contract`).
"""

__all__ = ["demo", "parsing", "run", "state"]
