"""OpenILP: an open platform for intelligence-led policing.

The package is layered (see ``docs/architecture.md``):

* :mod:`openilp.ingest` reads police exports into normalised frames (no database);
* :mod:`openilp.db` holds the schema, migrations and dialect-specific bulk writers;
* :mod:`openilp.services` holds the workflows (import, queries, users, statistics);
* :mod:`openilp.cli` and :mod:`openilp.web` are thin shells over the services.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
