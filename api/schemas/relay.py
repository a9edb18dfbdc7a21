"""Relayed transactions."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import RequestModel, ResponseModel
from ledger.relay import MAX_RAW_TRANSACTION_BYTES

__all__ = ["RelayRequest", "RelayView"]


class RelayRequest(RequestModel):
    raw_transaction: str = Field(
        min_length=4,
        max_length=2 + 2 * MAX_RAW_TRANSACTION_BYTES,
        description="A signed transaction to one of our contracts, 0x-hex.",
        # Documented only: the decoder checks it, with the `malformed_transaction` code.
        json_schema_extra={"pattern": "^0x([0-9a-fA-F]{2})+$"},
    )


class RelayView(ResponseModel):
    tx_hash: str
    sender: str
    to: str
    block_number: int
    gas_used: int
