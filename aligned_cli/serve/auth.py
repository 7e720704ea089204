"""Bearer tokens: a full token reads and pushes; a read token only reads."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

Scope = Literal["read", "push"]


class ApiError(Exception):
    """An HTTP error with a status (401, 403, 413) and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Tokens:
    token: str | None = None
    read_token: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.read_token)

    def check(self, presented: str | None, scope: Scope) -> None:
        """Raise ApiError (401 unknown/missing, 403 read token on push) or pass."""
        if not self.enabled:
            return
        if presented is None:
            raise ApiError(401, "missing bearer token")
        if self.token and _same(presented, self.token):
            return
        if self.read_token and _same(presented, self.read_token):
            if scope == "read":
                return
            raise ApiError(403, "the read token cannot push; use the full token")
        raise ApiError(401, "invalid bearer token")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())  # constant time
