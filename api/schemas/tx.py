"""Transaction status (``GET /tx/{hash}``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.schemas.common import ErrorBody, ResponseModel

__all__ = ["TxStatusView"]


class TxStatusView(ResponseModel):
    tx_hash: str
    status: Literal["pending", "mined", "failed"]
    block_number: int | None = None
    operation: str | None = None
    result: dict[str, Any] | None = Field(
        default=None, description="The write's response once mined (writes sent via this API)."
    )
    error: ErrorBody | None = None
