"""The web application: JSON API and HTML pages over :mod:`openilp.services`.

Build it with :func:`create_app`; ``openilp serve`` hands the result to uvicorn.
"""

from openilp.web.app import create_app

__all__ = ["create_app"]
