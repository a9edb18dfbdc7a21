"""What the gateway knows about one item for buyers: its state, history and trust report, read
as one snapshot, plus its evidence bundle.

Why this exists: the buyer's page, ``GET /items/{id}/trust`` and ``POST /items/{id}/verify`` all
need the same facts, and the timeline a buyer reads must be the very history the verdict was
computed from (two separate reads could straddle a new block). This module is also the one seam
between those routes and the data source: today everything is read from the chain through a
read-only `ProvenanceClient`, except the item and its history, which come from the event
index when the caller passes one that is caught up (``index``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.client import ProvenanceClient
from ledger.evidence import build_bundle
from ledger.history import HistoryEvent
from ledger.index_store import IndexReader
from ledger.trust import TrustReport, build_trust_report, registrant_events
from ledger.types import Hash32, Item, ItemId

__all__ = ["ItemDossier", "evidence_bundle", "load_dossier", "trust_report"]

log = logging.getLogger(__name__)

_ZERO_ADDRESS = "0x" + "00" * 20
_METADATA_KINDS = frozenset({"registered", "metadata_updated"})
_Indexed = tuple[Item, list[HistoryEvent]]


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


def _markets(reader: ProvenanceClient) -> set[str]:
    # As `ledger.trust.report_for_item`: the passport's current market, so that its verdicts
    # read as dispute rulings.
    try:
        current = reader.passport.functions.market().call()
    except Exception:  # a passport without a market
        return set()
    return {current} if isinstance(current, str) and current != _ZERO_ADDRESS else set()


def _indexed(index: IndexReader, reader: ProvenanceClient, item_id: ItemId) -> _Indexed | None:
    try:
        with index.snapshot():  # the item and its history as of one indexer commit
            state = index.item_state(item_id, nonce_of=reader.item_nonce)
            history = index.item_history(item_id)
    except Exception as exc:  # the index is a cache: any failure means "read the chain"
        log.warning("event index read failed, reading the chain: %s", exc)
        return None
    if state is None or history is None:
        return None
    return state[0], history


def load_dossier(
    reader: ProvenanceClient,
    item_id: ItemId,
    *,
    now: int | None = None,
    index: IndexReader | None = None,
) -> ItemDossier:
    """The item, its history and its trust report; `ItemNotRegistered` for unknown ids.

    With ``index`` (caught up to the chain's head: `api.state.Gateway.fresh_index`) the item
    and its history come from the event index, which reads them exactly as the chain client
    does; an item the index lacks is read from the chain."""
    found = None if index is None else _indexed(index, reader, item_id)
    if found is not None:
        item, history = found
    else:
        item = reader.item(item_id)
        history = reader.history(item.item_id)
    record = reader.account_record(item.registrant)
    account_history = registrant_events(
        w3=reader.w3,
        passport=reader.passport,
        account=item.registrant,
        from_block=reader.deployment.block_number,
    )
    markets = _markets(reader)
    report = build_trust_report(
        item=item,
        history=history,
        registrant_record=record,
        registrant_history=account_history,
        now=int(time.time()) if now is None else now,
        markets=markets,
    )
    return ItemDossier(
        item=item,
        history=history,
        report=report,
        metadata_hash=_metadata_hash(history),
        chain_id=reader.deployment.chain_id,
        passport=reader.deployment.passport,
        markets=frozenset(markets),
    )


def trust_report(
    reader: ProvenanceClient, item_id: ItemId, *, index: IndexReader | None = None
) -> TrustReport:
    """The item's trust report (see `load_dossier` for ``index``); `ItemNotRegistered` for
    unknown ids."""
    return load_dossier(reader, item_id, index=index).report


def evidence_bundle(reader: ProvenanceClient, item_id: ItemId) -> dict[str, Any]:
    """The item's evidence bundle (`ledger.evidence.build_bundle`), read from the chain up to
    its current block; `ItemNotRegistered` for unknown ids (a bundle of nothing proves nothing)."""
    item = reader.item(item_id)
    return build_bundle(w3=reader.w3, deployment=reader.deployment, item_id=item.item_id)
