"""`aligned serve`: the FastAPI feature server over the Redis online store (SPEC §10)."""

from aligned_cli.serve.app import create_app

__all__ = ["create_app"]
