"""What the gateway knows about one item for buyers: its state, history and trust report, read
as one snapshot, plus its evidence bundle.

Why this exists: the buyer's page, ``GET /items/{id}/trust`` and ``POST /items/{id}/verify`` all
need the same facts, and the timeline a buyer reads must be the very history the verdict was
computed from (two separate reads could straddle a new block). This module is also the one seam
between those routes and the data source: today everything is read from the chain through a
read-only `ProvenanceClient`, except the item and its history, which come through
`ledger.reads.ItemReads` (the event index when it is caught up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.client import ProvenanceClient
from ledger.evidence import build_bundle
from ledger.history import HistoryEvent
from ledger.reads import ItemReads
from ledger.trust import TrustReport, known_markets, report_from_history
from ledger.types import Hash32, Item, ItemId

__all__ = ["ItemDossier", "evidence_bundle", "load_dossier", "trust_report"]


_METADATA_KINDS = frozenset({"registered", "metadata_updated"})


@dataclass(frozen=True)
class ItemDossier:
    """One consistent snapshot of an item: ``report`` was computed from ``history``."""

    item: Item
    history: Sequence[HistoryEvent | Mapping[str, Any]]
    report: TrustReport
    metadata_hash: Hash32 | None
    """The newest metadata hash in ``history`` (None if none was published)."""
    chain_id: int
    passport: str
    markets: frozenset[str]
    """Resale-market contracts (their verdicts are dispute rulings)."""


def _field(record: object, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _metadata_hash(history: Sequence[object]) -> Hash32 | None:
    for record in reversed(history):
        if _field(record, "kind") in _METADATA_KINDS:
            data = _field(record, "data") or {}
            value = data.get("metadata_hash") if isinstance(data, Mapping) else None
            if isinstance(value, str) and value[:2] == "0x" and len(value) == 66:
                return Hash32(bytes.fromhex(value[2:]))
            if isinstance(value, bytes) and len(value) == 32:
                return Hash32(value)
    return None


def load_dossier(reads: ItemReads, item_id: ItemId, *, now: int | None = None) -> ItemDossier:
    """The item, its history and its trust report; `ItemNotRegistered` for unknown ids. The item
    and its history are read together (`ItemReads.item_and_history`: from the event index when
    it is caught up, else the chain), so the report speaks of the very history it shows."""
    item, history = reads.item_and_history(item_id)
    chain = reads.chain
    markets = known_markets(chain)
    report = report_from_history(client=chain, item=item, history=history, now=now, markets=markets)
    return ItemDossier(
        item=item,
        history=history,
        report=report,
        metadata_hash=_metadata_hash(history),
        chain_id=chain.deployment.chain_id,
        passport=chain.deployment.passport,
        markets=frozenset(markets),
    )


def trust_report(reads: ItemReads, item_id: ItemId) -> TrustReport:
    """The item's trust report (see `load_dossier`); `ItemNotRegistered` for unknown ids."""
    return load_dossier(reads, item_id).report


def evidence_bundle(reader: ProvenanceClient, item_id: ItemId) -> dict[str, Any]:
    """The item's evidence bundle (`ledger.evidence.build_bundle`), read from the chain up to
    its current block; `ItemNotRegistered` for unknown ids (a bundle of nothing proves nothing)."""
    item = reader.item(item_id)
    return build_bundle(w3=reader.w3, deployment=reader.deployment, item_id=item.item_id)
