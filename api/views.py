"""Ledger objects rendered as response models (hex for bytes, lowercase names for enums)."""

from __future__ import annotations

from api.schemas.items import HistoryEventView, ItemView
from api.schemas.merchants import MerchantView
from api.schemas.trust import TrustReportView
from ledger.history import HistoryEvent
from ledger.trust import TrustReport
from ledger.types import Account, Hash32, Item, Role

__all__ = ["event_view", "hex32", "item_view", "merchant_view", "trust_view"]


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def item_view(item: Item, metadata_hash: Hash32 | None) -> ItemView:
    return ItemView(
        item_id=hex32(item.item_id),
        owner=item.owner,
        status=item.status.name.lower(),
        brand_certified=item.brand_certified,
        flagged_by_admin=item.flagged_by_admin,
        locked=item.locked,
        last_verdict=item.last_verdict.name.lower(),
        registrant=item.registrant,
        registrant_id=item.registrant_id,
        transfer_nonce=item.transfer_nonce,
        metadata_hash=None if metadata_hash is None else hex32(metadata_hash),
    )


def merchant_view(account: Account) -> MerchantView:
    return MerchantView(
        address=account.address,
        id=account.id,
        name=account.name,
        roles=[str(role.name).lower() for role in Role if role in account.roles],
        status=account.status.name.lower(),
        vetted_at=account.vetted_at,
        updated_at=account.updated_at,
        credential_hash=hex32(account.credential_hash),
    )


def event_view(event: HistoryEvent) -> HistoryEventView:
    return HistoryEventView(
        kind=event.kind,
        actor=event.actor,
        block_number=event.block_number,
        block_hash=event.block_hash,
        tx_hash=event.tx_hash,
        log_index=event.log_index,
        timestamp=event.timestamp,
        data=dict(event.data),
    )


def trust_view(report: TrustReport) -> TrustReportView:
    """The report's own JSON (`TrustReport.to_json`), checked against the documented shape."""
    return TrustReportView.model_validate(report.to_json())
