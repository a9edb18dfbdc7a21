"""OpenAPI documentation of the error responses routes can give."""

from __future__ import annotations

from typing import Any

from api.schemas.common import AcceptedView, ErrorResponse

__all__ = ["ACCEPTED", "errors"]

_DESCRIPTIONS = {
    400: "Malformed id, address or hash in the path, or unparseable JSON",
    401: "Missing, unknown or revoked API key",
    403: "The key's role, or the chain, does not allow this caller to do this",
    404: "No such item, account or key",
    409: "The chain's state refuses it (already registered, flagged, retired...)",
    422: "Invalid request fields",
    429: "A limit is used up for now (see the Retry-After header)",
    502: "The transaction failed on chain for an unknown reason",
    503: "The chain node is unavailable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]}
        for code in sorted({400, 422, 503, *codes})
    }


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": AcceptedView, "description": "Sent, not yet mined (?wait=false)"}
}
