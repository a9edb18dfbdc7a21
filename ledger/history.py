"""An item's history, rebuilt from the passport contract's event logs.

Why this exists: the contract stores only what it enforces; every fact about an item (its
metadata hashes, inspections, services, flags, sales) lives in events. Every item event indexes
the item id as its first topic, so the whole history is one ``eth_getLogs`` on that topic, plus
two narrow ones for the places the id sits elsewhere: the ERC-721 ``Transfer`` (token id is the
third topic) and ``ItemSucceeded`` seen from the successor (second topic).

The mint ``Transfer`` (from the zero address) is left out: ``registered`` already says it.
Events are decoded with the contract ABI and rendered for people and JSON: enum values as
lowercase names (``"stolen"``, ``"like_new"``), hashes as 0x-hex, field names in snake_case.

With ``markets`` (the deployment's `ResaleMarket`), the market's events about the item join the
history (`MARKET_EVENT_KINDS`: ``listed``, ``purchased``, ``shipped``, ``dispute_opened``,
``evidence_submitted``, ``dispute_ruled``, ``sale_settled``...), one more ``eth_getLogs`` per
market: each indexes the item id as its second topic. The kinds and field names are the ones
`ledger.trust` reads. The ERC-1497 ``Dispute`` / ``Evidence`` mirrors do not name the item and
repeat ``DisputeOpened`` / ``EvidenceSubmitted``, so they are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, cast

from eth_typing import ChecksumAddress, HexStr
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier, FilterParams, LogReceipt

from ledger.types import (
    ConditionGrade,
    DisputeReason,
    Hash32,
    ItemId,
    ItemStatus,
    RetirementKind,
    Ruling,
    ServiceKind,
    Settlement,
    Verdict,
)

__all__ = [
    "EVENT_KINDS",
    "MARKET_EVENT_KINDS",
    "HistoryEvent",
    "current_metadata_hash",
    "fetch_item_logs",
    "fetch_market_logs",
    "history_event",
    "item_history",
]

EVENT_KINDS: Mapping[str, str] = {
    "ItemRegistered": "registered",
    "MetadataUpdated": "metadata_updated",
    "ItemSucceeded": "succeeded",
    "Transfer": "transferred",
    "SaleRecorded": "sale_recorded",
    "ItemAuthenticated": "authenticated",
    "ItemServiced": "serviced",
    "ItemFlagged": "flagged",
    "FlagCleared": "flag_cleared",
    "ItemRetired": "retired",
    "ItemLocked": "locked",
    "ItemUnlocked": "unlocked",
}
"""Contract event name -> `HistoryEvent.kind` (events missing from an older ABI are skipped)."""

MARKET_EVENT_KINDS: Mapping[str, str] = {
    "Listed": "listed",
    "ListingCancelled": "listing_cancelled",
    "OrderCancelled": "order_cancelled",
    "Purchased": "purchased",
    "Shipped": "shipped",
    "DisputeOpened": "dispute_opened",
    "EvidenceSubmitted": "evidence_submitted",
    "DisputeRuled": "dispute_ruled",
    "SaleSettled": "sale_settled",
}
"""Resale-market event name -> `HistoryEvent.kind`; each indexes the item id as topic 2."""

# Events whose first indexed argument is the item id.
_BY_FIRST_TOPIC = tuple(name for name in EVENT_KINDS if name != "Transfer")

_ACTOR_FIELD: Mapping[str, str] = {
    "ItemRegistered": "registrant",
    "ItemAuthenticated": "authenticator",
    "Transfer": "from",
    "SaleRecorded": "from",
    "ItemLocked": "market",
    "ItemUnlocked": "market",
    "Listed": "seller",
    "ListingCancelled": "seller",
    "OrderCancelled": "seller",
    "Purchased": "buyer",
    "Shipped": "seller",
    "DisputeOpened": "buyer",
    "EvidenceSubmitted": "party",
    "DisputeRuled": "arbiter",
}  # every other item event names its actor "by"

_ENUM_FIELDS: Mapping[tuple[str, str], type[IntEnum]] = {
    ("ItemAuthenticated", "verdict"): Verdict,
    ("ItemAuthenticated", "grade"): ConditionGrade,
    ("ItemServiced", "kind"): ServiceKind,
    ("ItemFlagged", "status"): ItemStatus,
    ("FlagCleared", "previous"): ItemStatus,
    ("ItemRetired", "kind"): RetirementKind,
    ("DisputeOpened", "reason"): DisputeReason,
    ("DisputeRuled", "ruling"): Ruling,
    ("SaleSettled", "how"): Settlement,
}

# Arguments that are the item itself; already in `HistoryEvent.item_id`.
_ITEM_FIELDS = frozenset({"itemId", "id", "tokenId"})

_ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class HistoryEvent:
    """One fact about an item, as recorded by one contract event."""

    kind: str
    item_id: ItemId
    actor: ChecksumAddress | None
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    timestamp: int
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "item_id": "0x" + self.item_id.hex(),
            "actor": self.actor,
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "tx_hash": self.tx_hash,
            "log_index": self.log_index,
            "timestamp": self.timestamp,
            "data": dict(self.data),
        }


def _topic(item_id: ItemId) -> HexStr:
    return cast(HexStr, "0x" + bytes(item_id).hex())


def _event_topics(passport: Contract, names: Iterable[str]) -> dict[HexStr, str]:
    topics: dict[HexStr, str] = {}
    for name in names:
        topic = passport.events[name].topic
        topics[cast(HexStr, topic.lower())] = name
    return topics


def fetch_item_logs(
    *,
    w3: Web3,
    passport: Contract,
    item_id: ItemId,
    from_block: BlockIdentifier = 0,
    to_block: BlockIdentifier | None = None,
    events: Sequence[str] = tuple(EVENT_KINDS),
) -> list[tuple[str, LogReceipt]]:
    """Raw logs about ``item_id`` for the named ``events``, as ``(event name, log)`` in chain order.

    ``to_block`` defaults to the current block, fixed once so the queries see the same chain.
    """
    if to_block is None:
        to_block = w3.eth.block_number
    declared = {entry.get("name") for entry in passport.abi if entry.get("type") == "event"}
    events = [name for name in events if name in declared]
    item_topic = _topic(item_id)
    first = _event_topics(passport, [n for n in events if n in _BY_FIRST_TOPIC])
    queries: list[list[Any]] = []
    if first:
        queries.append([list(first), item_topic])
    if "ItemSucceeded" in events:
        queries.append([passport.events.ItemSucceeded.topic, None, item_topic])
    if "Transfer" in events:
        queries.append([passport.events.Transfer.topic, None, None, item_topic])
    names = _event_topics(passport, events)
    found: dict[tuple[str, int], tuple[str, LogReceipt]] = {}
    for topics in queries:
        params: FilterParams = {
            "address": passport.address,
            "fromBlock": from_block,
            "toBlock": to_block,
            "topics": topics,
        }
        for entry in w3.eth.get_logs(params):
            if entry.get("removed"):
                continue
            name = names.get(cast(HexStr, HexBytes(entry["topics"][0]).to_0x_hex().lower()))
            if name is None:
                continue
            key = (HexBytes(entry["transactionHash"]).to_0x_hex(), int(entry["logIndex"]))
            found[key] = (name, entry)
    return sorted(
        found.values(), key=lambda pair: (int(pair[1]["blockNumber"]), int(pair[1]["logIndex"]))
    )


def fetch_market_logs(
    *,
    w3: Web3,
    market: Contract,
    item_id: ItemId,
    from_block: BlockIdentifier = 0,
    to_block: BlockIdentifier | None = None,
) -> list[tuple[str, LogReceipt]]:
    """Raw logs of ``market`` about ``item_id`` (`MARKET_EVENT_KINDS`), as ``(event name, log)``
    in chain order: one ``eth_getLogs`` with the item id as the second topic."""
    if to_block is None:
        to_block = w3.eth.block_number
    declared = {entry.get("name") for entry in market.abi if entry.get("type") == "event"}
    names = _event_topics(market, [n for n in MARKET_EVENT_KINDS if n in declared])
    if not names:
        return []
    params: FilterParams = {
        "address": market.address,
        "fromBlock": from_block,
        "toBlock": to_block,
        "topics": [list(names), None, _topic(item_id)],
    }
    found: list[tuple[str, LogReceipt]] = []
    for entry in w3.eth.get_logs(params):
        if entry.get("removed"):
            continue
        name = names.get(cast(HexStr, HexBytes(entry["topics"][0]).to_0x_hex().lower()))
        if name is not None:
            found.append((name, entry))
    return sorted(found, key=lambda pair: (int(pair[1]["blockNumber"]), int(pair[1]["logIndex"])))


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _render(event: str, field: str, value: Any) -> Any:
    enum = _ENUM_FIELDS.get((event, field))
    if enum is not None:
        return enum(value).name.lower()
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def _decode(contract: Contract, name: str, entry: LogReceipt) -> dict[str, Any]:
    decoded = contract.events[name]().process_log(entry)
    return dict(decoded["args"])


def item_history(
    *,
    w3: Web3,
    passport: Contract,
    item_id: ItemId,
    from_block: int = 0,
    block_timestamps: MutableMapping[str, int] | None = None,
    markets: Sequence[Contract] = (),
) -> list[HistoryEvent]:
    """Every event about ``item_id`` since ``from_block``, oldest first: the passport's, and
    those of each resale market in ``markets``.

    ``block_timestamps`` (block hash -> timestamp) may be shared between calls to save
    ``eth_getBlockByHash`` round trips; block hashes never change meaning, so it never goes stale.
    """
    timestamps: MutableMapping[str, int] = {} if block_timestamps is None else block_timestamps
    to_block = w3.eth.block_number  # one head for every query, so they see the same chain
    logs: list[tuple[Contract, str, LogReceipt]] = [
        (passport, name, entry)
        for name, entry in fetch_item_logs(
            w3=w3, passport=passport, item_id=item_id, from_block=from_block, to_block=to_block
        )
    ]
    for market in markets:
        logs.extend(
            (market, name, entry)
            for name, entry in fetch_market_logs(
                w3=w3, market=market, item_id=item_id, from_block=from_block, to_block=to_block
            )
        )
    if markets:
        logs.sort(key=lambda log: (int(log[2]["blockNumber"]), int(log[2]["logIndex"])))
    history: list[HistoryEvent] = []
    for contract, name, entry in logs:
        args = _decode(contract, name, entry)
        if name == "Transfer" and args.get("from") == _ZERO_ADDRESS:
            continue  # the mint: skip it before paying for its block's timestamp
        block_hash = HexBytes(entry["blockHash"]).to_0x_hex()
        if block_hash not in timestamps:
            timestamps[block_hash] = int(w3.eth.get_block(HexBytes(block_hash))["timestamp"])
        event = history_event(
            name=name,
            market=contract is not passport,
            item_id=item_id,
            args={field: _render(name, field, value) for field, value in args.items()},
            block_number=int(entry["blockNumber"]),
            block_hash=block_hash,
            tx_hash=HexBytes(entry["transactionHash"]).to_0x_hex(),
            log_index=int(entry["logIndex"]),
            timestamp=timestamps[block_hash],
        )
        if event is not None:
            history.append(event)
    return history


def history_event(
    *,
    name: str,
    market: bool,
    item_id: ItemId,
    args: Mapping[str, Any],
    block_number: int,
    block_hash: str,
    tx_hash: str,
    log_index: int,
    timestamp: int,
) -> HistoryEvent | None:
    """One log about ``item_id`` as a `HistoryEvent`, or None if history leaves it out (an event
    of no history kind, or the mint ``Transfer``).

    ``args`` are the event's arguments under their ABI names, already rendered for JSON (bytes as
    0x-hex, addresses checksummed, `HistoryEvent` enum fields as lowercase names), as both the
    chain reader (`item_history`) and the event index (`ledger.index_store.IndexReader`) hold
    them: one function builds both, so the two sources cannot disagree on kinds, actors or
    field names. ``market`` says the log is a resale market's, not the passport's.
    """
    kind = (MARKET_EVENT_KINDS if market else EVENT_KINDS).get(name)
    if kind is None:
        return None
    if name == "Transfer" and args.get("from") == _ZERO_ADDRESS:
        return None  # the mint: `registered` says it
    actor = args.get(_ACTOR_FIELD.get(name, "by"))
    return HistoryEvent(
        kind=kind,
        item_id=item_id,
        actor=cast(ChecksumAddress, actor) if isinstance(actor, str) else None,
        block_number=block_number,
        block_hash=block_hash,
        tx_hash=tx_hash,
        log_index=log_index,
        timestamp=timestamp,
        data={_snake(field): value for field, value in args.items() if field not in _ITEM_FIELDS},
    )


def current_metadata_hash(
    *, w3: Web3, passport: Contract, item_id: ItemId, from_block: int = 0
) -> Hash32 | None:
    """The newest metadata hash published for ``item_id``, or None if there is none."""
    logs = fetch_item_logs(
        w3=w3,
        passport=passport,
        item_id=item_id,
        from_block=from_block,
        events=("ItemRegistered", "MetadataUpdated"),
    )
    if not logs:
        return None
    name, entry = logs[-1]
    return Hash32(bytes(_decode(passport, name, entry)["metadataHash"]))
