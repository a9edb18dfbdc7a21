"""Item passports: registration, reads, history, verification and the item actions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from api.schemas.common import (
    AddressStr,
    Brand,
    EvidenceValue,
    Metadata,
    MetadataUri,
    RequestModel,
    ResponseModel,
    Serial,
)
from api.schemas.enums import (
    FlagStatusName,
    GradeName,
    RetirementKindName,
    ServiceKindName,
    VerdictName,
)

__all__ = [
    "MAX_BATCH",
    "AttestationCreate",
    "BatchEntry",
    "BatchEntryResult",
    "BatchView",
    "FlagClear",
    "FlagCreate",
    "HistoryEventView",
    "HistoryView",
    "IndexedItemView",
    "ItemActionView",
    "ItemBatchCreate",
    "ItemCreate",
    "ItemPageView",
    "ItemView",
    "RegistrationView",
    "RetireRequest",
    "ServiceCreate",
    "TransferRequest",
    "VerificationView",
    "VerifyRequest",
]

MAX_BATCH = 1000


# ---------------------------------------------------------------------- requests


class ItemCreate(RequestModel):
    brand: Brand
    serial: Serial
    metadata: Metadata = Field(description="The item's metadata document; its hash goes on chain.")
    owner: AddressStr | None = Field(
        default=None, description="Initial owner; default the registering merchant."
    )
    metadata_uri: MetadataUri = ""


class BatchEntry(RequestModel):
    brand: Brand
    serial: Serial
    metadata: Metadata
    metadata_uri: MetadataUri = ""


class ItemBatchCreate(RequestModel):
    items: list[BatchEntry] = Field(min_length=1, max_length=MAX_BATCH)
    owner: AddressStr | None = None

    @field_validator("items", mode="before")
    @classmethod
    def _batch_size(cls, value: Any) -> Any:
        # Checked before the entries are validated: an oversized batch is refused unread.
        if isinstance(value, list):
            if len(value) > MAX_BATCH:
                raise PydanticCustomError(
                    "batch_too_large",
                    "a batch holds at most {limit} items, got {count}",
                    {"limit": MAX_BATCH, "count": len(value)},
                )
            if not value:
                raise PydanticCustomError("empty_batch", "a batch needs at least one item")
        return value


class VerifyRequest(RequestModel):
    metadata: Metadata


class TransferRequest(RequestModel):
    to: AddressStr
    sale_ref: EvidenceValue | None = Field(
        default=None, description="The off-chain order this transfer settles (hashed)."
    )


class AttestationCreate(RequestModel):
    verdict: VerdictName
    grade: GradeName = GradeName.UNGRADED
    evidence: EvidenceValue


class ServiceCreate(RequestModel):
    kind: ServiceKindName
    evidence: EvidenceValue


class FlagCreate(RequestModel):
    status: FlagStatusName
    report: EvidenceValue


class FlagClear(RequestModel):
    clearance: EvidenceValue


class RetireRequest(RequestModel):
    kind: RetirementKindName
    evidence: EvidenceValue


# ---------------------------------------------------------------------- responses


class ItemView(ResponseModel):
    item_id: str
    owner: str
    status: str
    brand_certified: bool
    flagged_by_admin: bool
    locked: bool
    last_verdict: str
    registrant: str
    registrant_id: int
    transfer_nonce: int
    metadata_hash: str | None = Field(description="The current metadata hash (newest published).")


class RegistrationView(ResponseModel):
    item_id: str
    metadata_hash: str
    owner: str
    tx_hash: str
    block_number: int
    gas_used: int


class BatchEntryResult(ResponseModel):
    index: int
    item_id: str
    status: Literal["registered", "skipped"]
    reason: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None


class BatchView(ResponseModel):
    registered: int
    skipped: int
    results: list[BatchEntryResult]


class HistoryEventView(ResponseModel):
    kind: str
    actor: str | None
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    timestamp: int
    data: dict[str, Any]


class HistoryView(ResponseModel):
    item_id: str
    events: list[HistoryEventView]


class VerificationView(ResponseModel):
    item_id: str
    matches: bool
    given_hash: str
    registered_hash: str | None
    item: ItemView


class ItemActionView(ResponseModel):
    item_id: str
    tx_hash: str
    block_number: int
    gas_used: int


class IndexedItemView(ResponseModel):
    """An item as the event index derives it (see `ledger.index_store.IndexReader.items`)."""

    item_id: str
    owner: str | None
    registrant: str | None
    status: str | None
    brand_certified: bool
    flagged_by_admin: bool
    locked: bool
    last_verdict: str | None = None
    metadata_hash: str | None = None
    metadata_uri: str | None = None
    predecessor_id: str | None = None
    successor_id: str | None = None
    registered_block: int | None = None
    registered_at: int | None = None
    last_event_block: int | None = None


class ItemPageView(ResponseModel):
    """One page of items ordered by item id; pass ``next_cursor`` as ``cursor`` for the next
    (null: this was the last page)."""

    items: list[IndexedItemView]
    next_cursor: str | None
