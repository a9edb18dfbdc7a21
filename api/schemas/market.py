"""The resale market: listings, signed sell orders, sales, disputes and payments.

Amounts of wei exceed what JSON numbers carry safely (2**53), so responses give them as decimal
strings (``price_wei``, ``credits_wei``); requests accept either a decimal string or a JSON
integer. Enum values are lowercase names (``not_as_described``, ``partial_refund``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from api.schemas.common import (
    AddressStr,
    EvidenceValue,
    ItemIdStr,
    RequestModel,
    ResponseModel,
)
from api.schemas.items import HistoryEventView
from ledger.signatures import SIGNATURE_LENGTH

__all__ = [
    "MAX_ID",
    "MAX_JSON_INT",
    "MAX_TIMESTAMP",
    "CreditsView",
    "DisputeCreate",
    "DisputeReasonName",
    "DisputeView",
    "EvidenceCreate",
    "ListingCancelled",
    "ListingCreate",
    "ListingCreated",
    "ListingView",
    "MarketView",
    "OrderCheckView",
    "PurchaseView",
    "RulingCreate",
    "RulingName",
    "SaleActionView",
    "SaleView",
    "SellOrderBody",
    "ShipmentCreate",
    "SignedOrder",
    "WeiAmount",
    "WithdrawalView",
]

MAX_ID = 2**40 - 1
"""The market counts listings and sales in uint40 (and a JSON Schema bound must be exact)."""
MAX_TIMESTAMP = 2**40 - 1
"""Listing expiries are stored as uint40 seconds."""
MAX_JSON_INT = 2**53 - 1
"""The largest integer every JSON reader holds exactly; larger amounts travel as strings."""
# Decimal strings of up to 28 digits are always below 2**96 (about 7.9e28, the contract's price
# limit), so a pattern states exactly what is accepted.
_WEI_DIGITS = re.compile(r"[1-9][0-9]{0,27}")
_MAX_URI = 2048


class DisputeReasonName(StrEnum):
    """Mirrors `ledger.types.DisputeReason` (minus ``none``)."""

    NOT_RECEIVED = "not_received"
    NOT_AS_DESCRIBED = "not_as_described"
    COUNTERFEIT = "counterfeit"
    OTHER = "other"


class RulingName(StrEnum):
    """Mirrors `ledger.types.Ruling` (minus ``none``)."""

    REFUND = "refund"
    RELEASE = "release"
    PARTIAL_REFUND = "partial_refund"


def _whole(value: Any) -> int | None:
    """``value`` as an int if it is a JSON integer; JSON Schema counts ``2.0`` as one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _int_in(minimum: int, maximum: int) -> Any:
    """A validator taking exactly what JSON Schema calls an integer from ``minimum`` to
    ``maximum`` (at most `MAX_JSON_INT`): no booleans, no numeric strings."""

    def check(value: Any) -> int:
        number = _whole(value)
        if number is None:
            raise PydanticCustomError("invalid_type", "must be an integer")
        if not minimum <= number <= maximum:
            raise PydanticCustomError(
                "out_of_range",
                "must be from {minimum} to {maximum}",
                {"minimum": minimum, "maximum": maximum},
            )
        return number

    return BeforeValidator(check)


def _int_schema(minimum: int, maximum: int, description: str | None = None) -> Any:
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum, "maximum": maximum}
    if description is not None:
        schema["description"] = description
    return WithJsonSchema(schema)


def _wei(value: Any) -> int:
    number = _whole(value)
    if number is not None and 1 <= number <= MAX_JSON_INT:
        return number
    if isinstance(value, str) and _WEI_DIGITS.fullmatch(value):
        return int(value)
    raise PydanticCustomError(
        "invalid_amount",
        "must be a whole number of wei: a JSON integer from 1 to 2**53 - 1, or a decimal string "
        "of up to 28 digits without leading zeros",
    )


WeiAmount = Annotated[
    int,
    BeforeValidator(_wei),
    WithJsonSchema(
        {
            "description": "Wei: a decimal string (up to 28 digits), or a JSON integer up to "
            "2**53 - 1 (larger integers are not exact in every JSON reader).",
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_JSON_INT},
                {"type": "string", "pattern": "^[1-9][0-9]{0,27}$"},
            ],
        }
    ),
]
Timestamp = Annotated[int, _int_in(1, MAX_TIMESTAMP), _int_schema(1, MAX_TIMESTAMP)]
JsonUint = Annotated[int, _int_in(0, MAX_JSON_INT), _int_schema(0, MAX_JSON_INT)]
SaleId = Annotated[int, _int_in(1, MAX_ID), _int_schema(1, MAX_ID, "The sale's id.")]
BasisPoints = Annotated[int, _int_in(0, 9999), _int_schema(0, 9999)]
Signature = Annotated[
    str,
    StringConstraints(pattern=rf"^0x[0-9a-fA-F]{{{2 * SIGNATURE_LENGTH}}}$"),
    Field(description="The seller's EIP-712 signature: 65 bytes (r, s, v) in 0x-hex."),
]
EvidenceUri = Annotated[
    str,
    StringConstraints(max_length=_MAX_URI),
    Field(description="Where the evidence can be fetched (optional; only the hash is binding)."),
]


# ---------------------------------------------------------------------- requests


class ListingCreate(RequestModel):
    item_id: ItemIdStr
    price_wei: WeiAmount
    expiry: Timestamp = Field(
        description="Last second (unix time, inclusive) the listing can be bought; in the future."
    )


class SellOrderBody(RequestModel):
    """A sell order as the seller signed it (`ledger.signatures.sell_order_to_json`)."""

    item_id: ItemIdStr
    seller: AddressStr
    price: WeiAmount
    expiry: JsonUint = Field(description="Last second (unix time, inclusive) it can be bought.")
    item_nonce: JsonUint = Field(description="The item's passport nonce when signed.")
    counter: JsonUint = Field(description="The seller's market order counter when signed.")


class SignedOrder(RequestModel):
    order: SellOrderBody
    signature: Signature


class ShipmentCreate(RequestModel):
    shipment_ref: EvidenceValue = Field(description="Carrier and tracking number (hashed).")


class DisputeCreate(RequestModel):
    sale_id: SaleId
    reason: DisputeReasonName
    evidence: EvidenceValue
    uri: EvidenceUri = ""


class EvidenceCreate(RequestModel):
    evidence: EvidenceValue
    uri: EvidenceUri = ""


class RulingCreate(RequestModel):
    ruling: RulingName
    buyer_share_bps: BasisPoints = Field(
        default=0,
        description="partial_refund only (1..9999): the share of the price refunded to the buyer.",
    )
    counterfeit: Annotated[bool, Field(strict=True)] = Field(
        default=False,
        description="Record a counterfeit verdict on the item's passport (not with release).",
    )
    ruling_evidence: EvidenceValue = Field(description="The reasoned decision (hashed).")


# ---------------------------------------------------------------------- responses


class MarketView(ResponseModel):
    address: str
    passport: str
    treasury: str
    fee_bps: int
    shipping_window: int = Field(description="Seconds a seller has to ship after a purchase.")
    delivery_window: int = Field(description="Seconds a buyer has to confirm or dispute.")
    ruling_window: int = Field(description="Seconds arbiters have to rule on a dispute.")
    listing_count: int
    sale_count: int


class ListingView(ResponseModel):
    listing_id: int
    item_id: str
    seller: str
    price_wei: str
    expiry: int
    item_nonce: int
    status: str = Field(description="open, filled or cancelled.")
    void_reason: str = Field(description="Why it cannot be bought now; none: it can.")
    buyable: bool


class ListingCreated(ResponseModel):
    listing_id: int
    item_id: str
    seller: str
    price_wei: str
    expiry: int
    tx_hash: str
    block_number: int
    gas_used: int


class ListingCancelled(ResponseModel):
    listing_id: int
    tx_hash: str
    block_number: int
    gas_used: int


class PurchaseView(ResponseModel):
    sale_id: int
    price_wei: str = Field(description="What the buyer paid into escrow.")
    listing_id: int | None = None
    order_hash: str | None = None
    tx_hash: str
    block_number: int
    gas_used: int


class OrderCheckView(ResponseModel):
    order_hash: str = Field(description="The order's id on chain (its EIP-712 digest).")
    status: str = Field(description="filled or cancelled once that happened, else none.")
    void_reason: str = Field(description="Why it cannot be bought now (none: it can).")
    signer: str | None = Field(description="Who the signature recovers to (null: nobody).")
    signature_valid: bool = Field(description="The signature recovers to the order's seller.")
    buyable: bool


class SaleView(ResponseModel):
    sale_id: int
    item_id: str
    seller: str
    buyer: str
    price_wei: str
    fee_bps: int = Field(description="Fixed at purchase.")
    state: str = Field(
        description="paid, shipped, disputed (open) or completed, refunded, partially_refunded."
    )
    open: bool
    deadline: int = Field(
        description="Of the current step: ship-by (paid), deliver-by (shipped), rule-by (disputed)."
    )
    dispute_reason: str


class SaleActionView(ResponseModel):
    sale_id: int
    state: str = Field(description="The sale's state after the write.")
    tx_hash: str
    block_number: int
    gas_used: int


class DisputeView(ResponseModel):
    sale: SaleView
    events: list[HistoryEventView] = Field(
        description="The dispute's events from the item's history, oldest first: "
        "dispute_opened, evidence_submitted, dispute_ruled and the settlement."
    )


class CreditsView(ResponseModel):
    address: str
    credits_wei: str


class WithdrawalView(ResponseModel):
    address: str
    amount_wei: str
    tx_hash: str
    block_number: int
    gas_used: int
