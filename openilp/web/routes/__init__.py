"""Routers: ``auth`` (sign-in), ``pages`` (HTML), ``api`` (JSON under /api/v1) and ``health``."""
