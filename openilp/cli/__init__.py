"""The ``openilp`` command: a thin shell over :mod:`openilp.services`.

Each command group lives in its own module and registers itself on :data:`app`.
"""

from openilp.cli.main import app

__all__ = ["app"]
