"""The ``openilp`` command: a thin shell over :mod:`openilp.services`.

Each command group lives in its own module with its own Typer app; :mod:`openilp.cli.main` adds them
all to :data:`app`.
"""

from openilp.cli.main import app

__all__ = ["app"]
