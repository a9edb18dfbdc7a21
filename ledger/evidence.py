"""Evidence bundles: an item's on-chain record as one self-contained JSON file, and its check.

Why this exists: an arbiter, a court or a buyer must be able to rely on an item's history without
trusting our gateway, our index or this library's rendering. A bundle therefore carries, for every
log about the item, where it is on chain (chain id, contract, block number and hash, transaction
hash, log index), the raw topics and data exactly as the node returned them, and the decoded
fields next to them, plus the ABI fragments and enum names needed to read them. Anyone can then
re-fetch each log from any node of that chain and compare; `verify_bundle` does exactly that:

* per entry: fetch the receipt by transaction hash, take the log at ``log_index``, compare the
  address, topics, data, block number and block hash, check that the block hash is the canonical
  block at that height (``eth_getBlockByNumber``), and re-decode the chain's log to compare the
  decoded fields. The result says ``ok``, ``mismatch`` (naming each differing field) or ``missing``;
* for the bundle: its chain id must be the node's, its logs must come from its passport or from a
  market the passport itself named (``MarketChanged``), and, unless told otherwise, the node is
  asked for the item's logs in the bundle's block range so that a log left out of the bundle (say,
  a stolen report) is reported as ``omitted``.

Tampering never raises: it is what the report is for. A bundle that is not a bundle (missing or
mistyped fields) raises `InputError` naming the field. What a bundle cannot prove on its own is
that ``contracts.passport`` is the platform's genuine contract: compare it with the address the
platform publishes (or pass ``passport=`` to `verify_bundle`).

Which logs: every log of the passport whose indexed arguments name the item (its own events with
the id as a topic, ``ItemSucceeded`` from either side, the ERC-721 ``Transfer`` including the
mint, and ``Approval``) and every log of the resale market(s) that indexes the item id. The
market's ERC-1497 ``Dispute`` / ``Evidence`` mirrors are left out: they do not name the item and
duplicate ``DisputeOpened`` / ``EvidenceSubmitted``.

Sources: the chain (``eth_getLogs`` with the item id as a topic filter), or, when given, records
from the indexer's ``raw_logs(item_id)``; see `RawLog` for the accepted shapes.

Decoded values are JSON-safe: addresses checksummed, bytes as 0x-hex, integers of up to 48 bits as
JSON numbers and wider integers (uint256 amounts, ids, deadlines) as decimal strings, so that
JavaScript readers lose no precision; enum fields stay ordinals, named in the bundle's ``enums``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_typing import ChecksumAddress, HexStr
from eth_utils import event_abi_to_log_topic, is_address, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import FilterParams

from ledger import jsonsafe
from ledger.artifacts import ArtifactNotFoundError, load_artifact
from ledger.client import parse_item_id
from ledger.deploy import Deployment
from ledger.errors import ConfigurationError, ErrorDecoder, InputError, LedgerError
from ledger.tx import translate_error
from ledger.types import (
    ConditionGrade,
    ItemId,
    ItemStatus,
    RetirementKind,
    ServiceKind,
    Verdict,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "BundleVerification",
    "EntryStatus",
    "EntryVerification",
    "FieldMismatch",
    "OmittedLog",
    "RawLog",
    "build_bundle",
    "bundle_json",
    "export_bundle",
    "load_bundle",
    "verify_bundle",
    "verify_bundle_file",
]

BUNDLE_FORMAT = "provenance-evidence-bundle"
BUNDLE_VERSION = 1

PASSPORT_CONTRACT = "ItemPassport"
MARKET_CONTRACT = "ResaleMarket"

# Indexed arguments that carry the item id (bytes32) or the token id (uint256 `id` in Solady's
# ERC-721 events). `AccountVetted.id` is a uint32 registry id, hence the type check.
_ITEM_ARGS = frozenset({"itemId", "tokenId", "predecessorId", "successorId"})

# Enum fields, by "Event.field": ordinal -> name, so the bundle reads without our source.
_MARKET_ENUMS: Mapping[str, tuple[str, ...]] = {
    "DisputeOpened.reason": ("none", "not_received", "not_as_described", "counterfeit", "other"),
    "DisputeRuled.ruling": ("none", "refund", "release", "partial_refund"),
    "SaleSettled.how": ("confirmed", "finalized", "cancelled_unshipped", "ruled", "default_refund"),
}
ENUMS: Mapping[str, tuple[str, ...]] = {
    "ItemAuthenticated.verdict": tuple(v.name.lower() for v in Verdict),
    "ItemAuthenticated.grade": tuple(g.name.lower() for g in ConditionGrade),
    "ItemServiced.kind": tuple(k.name.lower() for k in ServiceKind),
    "ItemFlagged.status": tuple(s.name.lower() for s in ItemStatus),
    "FlagCleared.previous": tuple(s.name.lower() for s in ItemStatus),
    "ItemRetired.kind": tuple(k.name.lower() for k in RetirementKind),
    **_MARKET_ENUMS,
}

_HOW_TO_VERIFY = (
    "For each entry, fetch the transaction receipt by transaction_hash from any node of chain "
    "chain_id, take the log whose logIndex is log_index, and compare address, topics, data, "
    "blockNumber and blockHash; check that blockHash is the hash of the canonical block at "
    "block_number; decode topics and data with the ABI fragment named by signature. "
    "`provenance verify-bundle FILE --rpc URL` does all of this, and also asks the node for "
    "logs about item_id between from_block and to_block that the bundle leaves out."
)

_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")


# ---------------------------------------------------------------------- raw log records


@dataclass(frozen=True)
class RawLog:
    """One log as the node returned it: the record both sources are reduced to.

    `from_record` accepts a `RawLog`, an ``eth_getLogs`` / receipt log (camelCase keys, HexBytes or
    hex strings or ints), or an indexer row (a mapping or an object with the snake_case names of
    these fields; ``tx_hash``, ``tx_index`` and ``timestamp`` are accepted as aliases, other keys
    are ignored), so the rows of ``IndexStore.raw_logs(item_id)`` feed `build_bundle` as they are.
    """

    address: ChecksumAddress
    topics: tuple[str, ...]
    """0x-hex, lowercase, topic 0 first."""
    data: str
    """0x-hex, lowercase."""
    block_number: int
    block_hash: str
    transaction_hash: str
    log_index: int
    transaction_index: int | None = None
    block_timestamp: int | None = None

    @property
    def key(self) -> tuple[str, int]:
        """Identity of a log on a chain: (transaction hash, log index)."""
        return (self.transaction_hash, self.log_index)

    @classmethod
    def from_record(cls, record: object, *, field: str = "log") -> RawLog:
        """Normalise one log record (see the class doc); `InputError` naming ``field``."""
        if isinstance(record, RawLog):
            return record

        def get(*names: str, required: bool = True) -> Any:
            for name in names:
                if isinstance(record, Mapping):
                    if name in record:
                        return record[name]
                elif hasattr(record, "keys") and name in record.keys():  # noqa: SIM118 sqlite3.Row
                    return record[name]  # type: ignore[index]
                elif hasattr(record, name):
                    return getattr(record, name)
            if required:
                raise InputError(f"{field} lacks {names[0]}", field=f"{field}.{names[0]}")
            return None

        address = get("address")
        if not isinstance(address, str) or not is_address(address.lower()):
            raise InputError(f"{field}.address is not an address", field=f"{field}.address")
        topics_raw = get("topics")
        if isinstance(topics_raw, str):  # an indexer may keep them as a JSON array
            try:
                topics_raw = json.loads(topics_raw)
            except ValueError:
                raise InputError(f"{field}.topics is not a list", field=f"{field}.topics") from None
        if not isinstance(topics_raw, list | tuple) or not 1 <= len(topics_raw) <= 4:
            raise InputError(f"{field}.topics must list 1 to 4 topics", field=f"{field}.topics")
        topics = tuple(_hex32(t, field=f"{field}.topics[{n}]") for n, t in enumerate(topics_raw))
        timestamp = get("block_timestamp", "blockTimestamp", "timestamp", required=False)
        tx_index = get("transaction_index", "transactionIndex", "tx_index", required=False)
        return cls(
            address=to_checksum_address(address),
            topics=topics,
            data=_hex_data(get("data"), field=f"{field}.data"),
            block_number=_uint(get("block_number", "blockNumber"), field=f"{field}.block_number"),
            block_hash=_hex32(get("block_hash", "blockHash"), field=f"{field}.block_hash"),
            transaction_hash=_hex32(
                get("transaction_hash", "transactionHash", "tx_hash"),
                field=f"{field}.transaction_hash",
            ),
            log_index=_uint(get("log_index", "logIndex"), field=f"{field}.log_index"),
            transaction_index=(
                None if tx_index is None else _uint(tx_index, field=f"{field}.transaction_index")
            ),
            block_timestamp=(
                None if timestamp is None else _uint(timestamp, field=f"{field}.block_timestamp")
            ),
        )


def _hex32(value: object, *, field: str) -> str:
    if isinstance(value, bytes | bytearray):
        if len(value) != 32:
            raise InputError(f"{field} must be 32 bytes", field=field)
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and _HEX32.match(value):
        return value.lower()
    raise InputError(f"{field} must be 32 bytes of 0x-hex, got {value!r}", field=field)


def _hex_data(value: object, *, field: str) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and _HEX.match(value):
        return value.lower()
    raise InputError(f"{field} must be 0x-hex bytes, got {value!r}", field=field)


def _uint(value: object, *, field: str) -> int:
    if isinstance(value, bool):
        raise InputError(f"{field} must be a non-negative integer", field=field)
    if isinstance(value, str) and value[:2].lower() == "0x":
        try:
            value = int(value, 16)
        except ValueError:
            raise InputError(f"{field} is not a hex number: {value!r}", field=field) from None
    if not isinstance(value, int) or value < 0:
        raise InputError(f"{field} must be a non-negative integer, got {value!r}", field=field)
    return value


# ---------------------------------------------------------------------- ABI knowledge


@dataclass(frozen=True)
class _EventSpec:
    contract: str
    name: str
    signature: str
    topic0: str
    abi: Mapping[str, Any]
    item_positions: tuple[int, ...]
    """Topic positions (1-3) that carry the item id."""


def _signature(abi: Mapping[str, Any]) -> str:
    return f"{abi['name']}({','.join(_canonical_type(i) for i in abi['inputs'])})"


def _canonical_type(param: Mapping[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param.get("components", []))
        return f"({inner}){kind[5:]}"
    return kind


def _is_item_arg(param: Mapping[str, Any]) -> bool:
    name, kind = param.get("name"), param.get("type")
    return (name in _ITEM_ARGS and kind in ("bytes32", "uint256")) or (
        name == "id" and kind == "uint256"
    )


@cache
def _specs(contract: str) -> dict[str, _EventSpec]:
    """topic0 -> spec for the events of ``contract`` that index the item; empty if not shipped."""
    try:
        abi = load_artifact(contract)["abi"]
    except ArtifactNotFoundError:
        return {}
    specs: dict[str, _EventSpec] = {}
    for entry in abi:
        if entry.get("type") != "event" or entry.get("anonymous"):
            continue
        positions: list[int] = []
        topic = 0
        for param in entry["inputs"]:
            if param.get("indexed"):
                topic += 1
                if _is_item_arg(param):
                    positions.append(topic)
        if not positions:
            continue
        topic0 = "0x" + bytes(event_abi_to_log_topic(entry)).hex()
        specs[topic0] = _EventSpec(
            contract=contract,
            name=entry["name"],
            signature=_signature(entry),
            topic0=topic0,
            abi=entry,
            item_positions=tuple(positions),
        )
    return specs


@cache
def _market_changed_topic() -> str:
    for entry in load_artifact(PASSPORT_CONTRACT)["abi"]:
        if entry.get("type") == "event" and entry.get("name") == "MarketChanged":
            return "0x" + bytes(event_abi_to_log_topic(entry)).hex()
    raise ConfigurationError("the ItemPassport ABI has no MarketChanged event")


def _is_dynamic(kind: str) -> bool:
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("tuple")


def _render(kind: str, value: Any) -> Any:
    """A decoded ABI value as JSON (see the module doc for the rules)."""
    if kind.endswith("]"):
        inner = kind[: kind.rindex("[")]
        return [_render(inner, v) for v in value]
    if kind == "address":
        return to_checksum_address(value)
    if kind == "bool":
        return bool(value)
    if kind.startswith("bytes"):
        return "0x" + bytes(value).hex()
    if kind == "string":
        return str(value)
    match = re.fullmatch(r"u?int(\d*)", kind)
    if match:
        bits = int(match.group(1) or 256)
        return int(value) if bits <= 48 else str(int(value))
    if isinstance(value, tuple):
        return [v if isinstance(v, int | str | bool) else str(v) for v in value]
    return str(value)


class _DecodeError(Exception):
    pass


def _decode(spec: _EventSpec, topics: Sequence[str], data: str) -> dict[str, Any]:
    """Raw values by argument name (indexed dynamic values are their topic hash, as bytes)."""
    inputs = spec.abi["inputs"]
    indexed = [p for p in inputs if p.get("indexed")]
    plain = [p for p in inputs if not p.get("indexed")]
    if len(topics) != 1 + len(indexed):
        raise _DecodeError(f"{spec.name} has {len(indexed)} indexed arguments")
    values: dict[str, Any] = {}
    try:
        for param, topic in zip(indexed, topics[1:], strict=True):
            raw = bytes.fromhex(topic[2:])
            if _is_dynamic(param["type"]):
                values[param["name"]] = raw
            else:
                (values[param["name"]],) = abi_decode([_canonical_type(param)], raw)
        decoded = abi_decode([_canonical_type(p) for p in plain], bytes.fromhex(data[2:]))
    except Exception as exc:  # eth_abi raises several unrelated types on bad input
        raise _DecodeError(f"cannot decode {spec.name}: {exc}") from exc
    for param, value in zip(plain, decoded, strict=True):
        values[param["name"]] = value
    return {p["name"]: values[p["name"]] for p in inputs}


def _rendered(spec: _EventSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in spec.abi["inputs"]:
        value = values[param["name"]]
        if param.get("indexed") and _is_dynamic(param["type"]):
            out[param["name"]] = "0x" + bytes(value).hex()
        else:
            out[param["name"]] = _render(_canonical_type(param), value)
    return out


def _names_item(spec: _EventSpec, values: Mapping[str, Any], item: bytes) -> bool:
    for param in spec.abi["inputs"]:
        if not (param.get("indexed") and _is_item_arg(param)):
            continue
        value = values.get(param["name"])
        if isinstance(value, bytes) and value == item:
            return True
        if isinstance(value, int) and value == int.from_bytes(item, "big"):
            return True
    return False


# ---------------------------------------------------------------------- chain access


def _chain_call(action: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one RPC; connection failures and node errors become `LedgerError`s."""
    try:
        return action(*args, **kwargs)
    except (LedgerError, TransactionNotFound):
        raise
    except Exception as exc:
        error = translate_error(exc, ErrorDecoder([]))
        if error is None:
            raise
        raise error from exc


def _topic_of_address(address: str) -> HexStr:
    return cast(HexStr, "0x" + "00" * 12 + address[2:].lower())


def _markets_named(
    w3: Web3, passport: ChecksumAddress, from_block: int, to_block: int
) -> list[ChecksumAddress]:
    """Every market the passport ever named (``MarketChanged``), in the order first named."""
    params: FilterParams = {
        "address": passport,
        "fromBlock": from_block,
        "toBlock": to_block,
        "topics": [cast(HexStr, _market_changed_topic())],
    }
    found: list[ChecksumAddress] = []
    for entry in _chain_call(w3.eth.get_logs, params):
        if entry.get("removed"):
            continue
        for topic in entry["topics"][1:3]:
            address = to_checksum_address("0x" + bytes(HexBytes(topic))[-20:].hex())
            if int(address, 16) != 0 and address not in found:
                found.append(address)
    return found


def _contract_names(
    passport: ChecksumAddress, markets: Iterable[ChecksumAddress]
) -> dict[ChecksumAddress, str]:
    names = {market: MARKET_CONTRACT for market in markets}
    names[passport] = PASSPORT_CONTRACT
    return names


def _fetch_item_logs(
    w3: Web3,
    contracts: Mapping[ChecksumAddress, str],
    item: bytes,
    from_block: int,
    to_block: int,
) -> list[RawLog]:
    """The item's logs on ``contracts``: one ``eth_getLogs`` per contract and topic position."""
    item_topic = cast(HexStr, "0x" + item.hex())
    found: dict[tuple[str, int], RawLog] = {}
    for address, contract in contracts.items():
        specs = _specs(contract)
        for position in (1, 2, 3):
            topic0s = [t for t, s in specs.items() if position in s.item_positions]
            if not topic0s:
                continue
            topics: list[Any] = [topic0s, *([None] * (position - 1)), item_topic]
            params: FilterParams = {
                "address": address,
                "fromBlock": from_block,
                "toBlock": to_block,
                "topics": topics,
            }
            for entry in _chain_call(w3.eth.get_logs, params):
                if entry.get("removed"):
                    continue
                log = RawLog.from_record(entry)
                found[log.key] = log
    return sorted(found.values(), key=lambda log: (log.block_number, log.log_index))


# ---------------------------------------------------------------------- building


def _iso(timestamp: float) -> str:
    return (
        datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def build_bundle(
    *,
    w3: Web3,
    deployment: Deployment,
    item_id: ItemId | str,
    logs: Sequence[object] | None = None,
    as_of_block: int | None = None,
) -> dict[str, Any]:
    """The evidence bundle of ``item_id`` (a JSON-ready dict; see the module doc).

    With ``logs=None`` the logs come from the node, up to its current block. Otherwise ``logs``
    are records from the indexer (``raw_logs(item_id)``, any shape `RawLog.from_record` takes);
    each must be a known item event of the passport or of a market it named, about this item,
    else `InputError` names it. ``as_of_block`` is the last block the bundle claims to cover
    (verification looks for omitted logs up to it): by default the node's current block when
    reading the chain, or the newest block among ``logs``, so an indexer should pass the height
    it has synced to.
    """
    item = bytes(parse_item_id(item_id))
    chain_id = int(_chain_call(lambda: w3.eth.chain_id))
    if chain_id != deployment.chain_id:
        raise ConfigurationError(
            f"the deployment is on chain {deployment.chain_id}, the node on chain {chain_id}"
        )
    head = int(_chain_call(lambda: w3.eth.block_number))
    records = (
        None
        if logs is None
        else [RawLog.from_record(r, field=f"logs[{n}]") for n, r in enumerate(logs)]
    )
    if as_of_block is not None:
        to_block = _uint(as_of_block, field="as_of_block")
    elif records is None:
        to_block = head
    else:
        to_block = max((r.block_number for r in records), default=deployment.block_number)
    from_block = deployment.block_number
    markets = _markets_named(w3, deployment.passport, from_block, min(to_block, head))
    extra = getattr(deployment, "market", None)  # a Deployment that records its market
    if (
        isinstance(extra, str)
        and is_address(extra)
        and int(extra, 16) != 0
        and to_checksum_address(extra) not in markets
    ):
        markets.append(to_checksum_address(extra))
    contracts = _contract_names(deployment.passport, markets)

    if records is None:
        chosen = _fetch_item_logs(w3, contracts, item, from_block, to_block)
    else:
        chosen = _checked_records(records, contracts, item)

    stamps: dict[str, int] = {}
    events: list[dict[str, Any]] = []
    used_abi: dict[str, Mapping[str, Any]] = {}
    for log in chosen:
        contract = contracts[log.address]
        spec = _specs(contract)[log.topics[0]]
        values = _decode(spec, log.topics, log.data)
        if log.block_timestamp is not None:
            stamps.setdefault(log.block_hash, log.block_timestamp)
        if log.block_hash not in stamps:
            block = _chain_call(w3.eth.get_block, HexBytes(log.block_hash))
            stamps[log.block_hash] = int(block["timestamp"])
        used_abi.setdefault(spec.signature, spec.abi)
        entry: dict[str, Any] = {
            "chain_id": chain_id,
            "contract": contract,
            "address": log.address,
            "block_number": log.block_number,
            "block_hash": log.block_hash,
            "block_timestamp": stamps[log.block_hash],
            "transaction_hash": log.transaction_hash,
            "log_index": log.log_index,
            "event": spec.name,
            "signature": spec.signature,
            "fields": _rendered(spec, values),
            "topics": list(log.topics),
            "data": log.data,
        }
        if log.transaction_index is not None:
            entry["transaction_index"] = log.transaction_index
        events.append(entry)

    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "generated_at": _iso(datetime.now(UTC).timestamp()),
        "chain_id": chain_id,
        "item_id": "0x" + item.hex(),
        "contracts": {"passport": deployment.passport, "markets": list(markets)},
        "from_block": from_block,
        "to_block": to_block,
        "events": events,
        "abi": [dict(fragment) for fragment in used_abi.values()],
        "enums": {key: list(names) for key, names in ENUMS.items()},
        "how_to_verify": _HOW_TO_VERIFY,
    }


def _checked_records(
    records: list[RawLog], contracts: Mapping[ChecksumAddress, str], item: bytes
) -> list[RawLog]:
    unique: dict[tuple[str, int], RawLog] = {}
    for n, log in enumerate(records):
        where = f"logs[{n}]"
        contract = contracts.get(log.address)
        if contract is None:
            raise InputError(
                f"{where} comes from {log.address}, neither the passport nor a market it named",
                field=f"{where}.address",
            )
        spec = _specs(contract).get(log.topics[0])
        if spec is None:
            raise InputError(f"{where} is not an item event of {contract}", field=f"{where}.topics")
        try:
            values = _decode(spec, log.topics, log.data)
        except _DecodeError as exc:
            raise InputError(f"{where}: {exc}", field=where) from None
        if not _names_item(spec, values, item):
            raise InputError(f"{where} is about another item", field=f"{where}.topics")
        unique[log.key] = log
    return sorted(unique.values(), key=lambda log: (log.block_number, log.log_index))


def bundle_json(bundle: Mapping[str, Any]) -> str:
    """The bundle as the JSON text that is written to files (UTF-8, indented, newline-ended)."""
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


def export_bundle(
    *,
    w3: Web3,
    deployment: Deployment,
    item_id: ItemId | str,
    out: Path | None = None,
    logs: Sequence[object] | None = None,
    as_of_block: int | None = None,
) -> dict[str, Any]:
    """`build_bundle`, written to ``out`` when given (atomically); for ``provenance evidence``.

    Returns the bundle; print `bundle_json(bundle)` for stdout.
    """
    bundle = build_bundle(
        w3=w3, deployment=deployment, item_id=item_id, logs=logs, as_of_block=as_of_block
    )
    if out is not None:
        _write_atomically(out, bundle_json(bundle))
    return bundle


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def load_bundle(path: Path) -> dict[str, Any]:
    """Read a bundle file; `InputError` (field ``path``) if it is unreadable or not JSON."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}", field="path") from exc
    try:
        data = jsonsafe.loads(text)
    except ValueError as exc:
        raise InputError(f"{path} is not JSON: {exc}", field="path") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path} does not hold a JSON object", field="path")
    return data


# ---------------------------------------------------------------------- verification


class EntryStatus(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"
    MISSING = "missing"


@dataclass(frozen=True)
class FieldMismatch:
    """One field of an entry that differs from the chain: what the bundle says, what the node
    says."""

    field: str
    bundle: Any
    chain: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "bundle": self.bundle, "chain": self.chain}


@dataclass(frozen=True)
class EntryVerification:
    """The check of one bundle entry against the node."""

    index: int
    status: EntryStatus
    event: str
    transaction_hash: str
    log_index: int
    mismatches: tuple[FieldMismatch, ...] = ()
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == EntryStatus.OK

    @property
    def fields(self) -> list[str]:
        """Names of the fields that differ (``log_index`` / ``transaction_hash`` when missing)."""
        return [m.field for m in self.mismatches]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": str(self.status),
            "event": self.event,
            "transaction_hash": self.transaction_hash,
            "log_index": self.log_index,
            "mismatches": [m.to_json() for m in self.mismatches],
            "message": self.message,
        }


@dataclass(frozen=True)
class OmittedLog:
    """A log about the item, in the bundle's block range, that the bundle does not contain."""

    address: ChecksumAddress
    event: str
    block_number: int
    transaction_hash: str
    log_index: int

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "event": self.event,
            "block_number": self.block_number,
            "transaction_hash": self.transaction_hash,
            "log_index": self.log_index,
        }


@dataclass(frozen=True)
class BundleVerification:
    """The outcome of `verify_bundle`. ``ok`` only when everything checked out."""

    ok: bool
    item_id: str
    bundle_chain_id: int
    node_chain_id: int
    entries: tuple[EntryVerification, ...]
    omitted: tuple[OmittedLog, ...] = ()
    completeness_checked: bool = False
    problems: tuple[str, ...] = field(default=())
    """Bundle-level findings: wrong chain, unexpected contract, node behind the bundle..."""

    @property
    def chain_id_ok(self) -> bool:
        return self.bundle_chain_id == self.node_chain_id

    @property
    def failed(self) -> list[EntryVerification]:
        return [entry for entry in self.entries if not entry.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "item_id": self.item_id,
            "bundle_chain_id": self.bundle_chain_id,
            "node_chain_id": self.node_chain_id,
            "chain_id_ok": self.chain_id_ok,
            "entries": [entry.to_json() for entry in self.entries],
            "completeness_checked": self.completeness_checked,
            "omitted": [log.to_json() for log in self.omitted],
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class _Entry:
    """A parsed bundle entry (types checked, values as given)."""

    index: int
    chain_id: int
    contract: str | None
    address: ChecksumAddress
    block_number: int
    block_hash: str
    block_timestamp: int | None
    transaction_hash: str
    transaction_index: int | None
    log_index: int
    event: str
    signature: str | None
    fields: Mapping[str, Any]
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True)
class _Bundle:
    chain_id: int
    item: bytes
    passport: ChecksumAddress
    markets: tuple[ChecksumAddress, ...]
    from_block: int
    to_block: int
    entries: tuple[_Entry, ...]
    abi: tuple[Mapping[str, Any], ...]


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise InputError(f"the bundle lacks {where}{key}", field=f"{where}{key}")
    return data[key]


def _parse_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{field} must be a non-negative integer, got {value!r}", field=field)
    return value


def _parse_address(value: object, field: str) -> ChecksumAddress:
    if not isinstance(value, str) or not is_address(value.lower()):
        raise InputError(f"{field} must be an address, got {value!r}", field=field)
    return to_checksum_address(value)


def _parse_bundle(bundle: Mapping[str, Any]) -> _Bundle:
    """Structure and types only: values that are well-formed but false are for verification."""
    if not isinstance(bundle, Mapping):
        raise InputError("the bundle must be a JSON object", field="bundle")
    if _require(bundle, "format", "") != BUNDLE_FORMAT:
        raise InputError(f"format must be {BUNDLE_FORMAT!r}", field="format")
    version = _require(bundle, "version", "")
    if version != BUNDLE_VERSION:
        raise InputError(f"unsupported bundle version {version!r}", field="version")
    chain_id = _parse_int(_require(bundle, "chain_id", ""), "chain_id")
    item_raw = _require(bundle, "item_id", "")
    if not isinstance(item_raw, str):
        raise InputError("item_id must be 0x-hex", field="item_id")
    item = bytes.fromhex(_hex32(item_raw, field="item_id")[2:])
    contracts = _require(bundle, "contracts", "")
    if not isinstance(contracts, Mapping):
        raise InputError("contracts must be an object", field="contracts")
    passport = _parse_address(_require(contracts, "passport", "contracts."), "contracts.passport")
    markets_raw = contracts.get("markets", [])
    if not isinstance(markets_raw, list):
        raise InputError("contracts.markets must be a list", field="contracts.markets")
    markets = tuple(_parse_address(m, f"contracts.markets[{n}]") for n, m in enumerate(markets_raw))
    from_block = _parse_int(_require(bundle, "from_block", ""), "from_block")
    to_block = _parse_int(_require(bundle, "to_block", ""), "to_block")
    raw_events = _require(bundle, "events", "")
    if not isinstance(raw_events, list):
        raise InputError("events must be a list", field="events")
    entries = tuple(_parse_entry(n, e) for n, e in enumerate(raw_events))
    abi_raw = bundle.get("abi", [])
    if not isinstance(abi_raw, list) or not all(isinstance(f, Mapping) for f in abi_raw):
        raise InputError("abi must be a list of event fragments", field="abi")
    return _Bundle(
        chain_id=chain_id,
        item=item,
        passport=passport,
        markets=markets,
        from_block=from_block,
        to_block=to_block,
        entries=entries,
        abi=tuple(abi_raw),
    )


def _parse_entry(n: int, raw: object) -> _Entry:
    where = f"events[{n}]"
    if not isinstance(raw, Mapping):
        raise InputError(f"{where} must be an object", field=where)

    def need(key: str) -> Any:
        return _require(raw, key, f"{where}.")

    topics_raw = need("topics")
    if not isinstance(topics_raw, list) or not 1 <= len(topics_raw) <= 4:
        raise InputError(f"{where}.topics must list 1 to 4 topics", field=f"{where}.topics")
    fields_raw = need("fields")
    if not isinstance(fields_raw, Mapping):
        raise InputError(f"{where}.fields must be an object", field=f"{where}.fields")
    event = need("event")
    if not isinstance(event, str):
        raise InputError(f"{where}.event must be text", field=f"{where}.event")
    signature = raw.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise InputError(f"{where}.signature must be text", field=f"{where}.signature")
    contract = raw.get("contract")
    if contract is not None and not isinstance(contract, str):
        raise InputError(f"{where}.contract must be text", field=f"{where}.contract")
    stamp, tx_index = raw.get("block_timestamp"), raw.get("transaction_index")
    data = need("data")
    if not isinstance(data, str):
        raise InputError(f"{where}.data must be 0x-hex", field=f"{where}.data")
    return _Entry(
        index=n,
        chain_id=_parse_int(need("chain_id"), f"{where}.chain_id"),
        contract=contract,
        address=_parse_address(need("address"), f"{where}.address"),
        block_number=_parse_int(need("block_number"), f"{where}.block_number"),
        block_hash=_hex32(need("block_hash"), field=f"{where}.block_hash"),
        block_timestamp=None if stamp is None else _parse_int(stamp, f"{where}.block_timestamp"),
        transaction_hash=_hex32(need("transaction_hash"), field=f"{where}.transaction_hash"),
        transaction_index=(
            None if tx_index is None else _parse_int(tx_index, f"{where}.transaction_index")
        ),
        log_index=_parse_int(need("log_index"), f"{where}.log_index"),
        event=event,
        signature=signature,
        fields=dict(fields_raw),
        topics=tuple(_hex32(t, field=f"{where}.topics[{i}]") for i, t in enumerate(topics_raw)),
        data=_hex_data(data, field=f"{where}.data"),
    )


def _same(a: Any, b: Any) -> bool:
    """Equality that ignores the case of hex strings and addresses (not of other text), and
    never equates a JSON number with a string or a boolean."""
    if isinstance(a, str) and isinstance(b, str) and a[:2] == "0x" and b[:2] == "0x":
        return a.lower() == b.lower()
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


class _Verifier:
    """One verification run; caches receipts and blocks so each is fetched once."""

    def __init__(self, w3: Web3, bundle: _Bundle, node_chain_id: int) -> None:
        self.w3 = w3
        self.bundle = bundle
        self.node_chain_id = node_chain_id
        self.receipts: dict[str, Any] = {}
        self.blocks: dict[int, Any] = {}
        self.contracts: dict[ChecksumAddress, str] = {}
        self.fallback_specs = self._bundle_specs(bundle.abi)

    @staticmethod
    def _bundle_specs(fragments: Iterable[Mapping[str, Any]]) -> dict[str, _EventSpec]:
        # Only used for events this library does not know; the topic must match the signature,
        # so a fragment can rename arguments but not change what the data means.
        specs: dict[str, _EventSpec] = {}
        for fragment in fragments:
            try:
                topic0 = "0x" + bytes(event_abi_to_log_topic(cast(Any, dict(fragment)))).hex()
                specs[topic0] = _EventSpec(
                    contract="(bundle ABI)",
                    name=str(fragment["name"]),
                    signature=_signature(fragment),
                    topic0=topic0,
                    abi=fragment,
                    item_positions=(),
                )
            except Exception:  # a fragment we cannot read simply does not help
                continue
        return specs

    def receipt(self, tx_hash: str) -> Any | None:
        if tx_hash not in self.receipts:
            try:
                receipt = _chain_call(self.w3.eth.get_transaction_receipt, HexStr(tx_hash))
            except TransactionNotFound:
                receipt = None
            if receipt is not None and receipt.get("blockNumber") is None:
                receipt = None  # pending: not on chain yet
            self.receipts[tx_hash] = receipt
        return self.receipts[tx_hash]

    def block(self, number: int) -> Any | None:
        if number not in self.blocks:
            try:
                self.blocks[number] = _chain_call(self.w3.eth.get_block, number)
            except LedgerError:
                raise
            except Exception:  # BlockNotFound: beyond the node's head
                self.blocks[number] = None
        return self.blocks[number]

    def spec_for(self, contract: str | None, topic0: str) -> _EventSpec | None:
        if contract is not None:
            spec = _specs(contract).get(topic0)
            if spec is not None:
                return spec
        return self.fallback_specs.get(topic0)

    def check(self, entry: _Entry) -> EntryVerification:
        def result(
            status: EntryStatus, mismatches: list[FieldMismatch], message: str
        ) -> EntryVerification:
            return EntryVerification(
                index=entry.index,
                status=status,
                event=entry.event,
                transaction_hash=entry.transaction_hash,
                log_index=entry.log_index,
                mismatches=tuple(mismatches),
                message=message,
            )

        receipt = self.receipt(entry.transaction_hash)
        if receipt is None:
            return result(
                EntryStatus.MISSING,
                [FieldMismatch("transaction_hash", entry.transaction_hash, None)],
                "the node knows no mined transaction with this hash",
            )
        chain_log = next(
            (log for log in receipt["logs"] if int(log["logIndex"]) == entry.log_index), None
        )
        if chain_log is None:
            return result(
                EntryStatus.MISSING,
                [FieldMismatch("log_index", entry.log_index, None)],
                "the transaction has no log at this index",
            )
        log = RawLog.from_record(chain_log, field="chain log")
        found: list[FieldMismatch] = []

        def compare(name: str, claimed: Any, actual: Any) -> None:
            if not _same(claimed, actual):
                found.append(FieldMismatch(name, claimed, actual))

        compare("chain_id", entry.chain_id, self.node_chain_id)
        compare("address", entry.address, log.address)
        compare("topics", list(entry.topics), list(log.topics))
        compare("data", entry.data, log.data)
        compare("block_number", entry.block_number, log.block_number)
        compare("block_hash", entry.block_hash, log.block_hash)
        if entry.transaction_index is not None and log.transaction_index is not None:
            compare("transaction_index", entry.transaction_index, log.transaction_index)
        canonical = self.block(log.block_number)
        canonical_hash = (
            HexBytes(canonical["hash"]).to_0x_hex().lower() if canonical is not None else None
        )
        if canonical_hash != log.block_hash and not any(m.field == "block_hash" for m in found):
            found.append(
                FieldMismatch("block_hash", entry.block_hash, canonical_hash)
            )  # the receipt's block was reorganised away
        if entry.block_timestamp is not None and canonical is not None:
            compare("block_timestamp", entry.block_timestamp, int(canonical["timestamp"]))

        contract = self.contracts.get(log.address)
        if contract is None:
            found.append(
                FieldMismatch(
                    "address",
                    entry.address,
                    f"{log.address} (not the passport nor a market it named)",
                )
            )
        compare("contract", entry.contract if entry.contract is not None else contract, contract)
        spec = self.spec_for(contract, log.topics[0])
        if spec is None:
            found.append(FieldMismatch("event", entry.event, "(unknown event)"))
        else:
            compare("event", entry.event, spec.name)
            if entry.signature is not None:
                compare("signature", entry.signature, spec.signature)
            try:
                values = _decode(spec, log.topics, log.data)
            except _DecodeError as exc:
                found.append(FieldMismatch("fields", dict(entry.fields), f"(undecodable: {exc})"))
            else:
                chain_fields = _rendered(spec, values)
                if entry.event != spec.name:
                    # Another event altogether: field-by-field differences would only be noise.
                    compare("fields", dict(entry.fields), chain_fields)
                else:
                    for name in sorted(set(chain_fields) | set(entry.fields)):
                        compare(f"fields.{name}", entry.fields.get(name), chain_fields.get(name))
                if spec.item_positions and not _names_item(spec, values, self.bundle.item):
                    found.append(
                        FieldMismatch("item_id", "0x" + self.bundle.item.hex(), "(another item)")
                    )
        if found:
            names = ", ".join(dict.fromkeys(m.field for m in found))
            return result(EntryStatus.MISMATCH, found, f"differs from the chain in: {names}")
        return result(EntryStatus.OK, [], "")


def verify_bundle(
    *,
    bundle: Mapping[str, Any],
    w3: Web3,
    check_complete: bool = True,
    passport: str | None = None,
) -> BundleVerification:
    """Re-check every entry of ``bundle`` against the node ``w3`` talks to (see module doc).

    Uses nothing but the node: no index, no gateway, no deployment record. ``check_complete``
    also asks the node for the item's logs in the bundle's block range that the bundle omits.
    ``passport``, when given, is the passport address the verifier expects (the platform's
    published one); a bundle naming another fails. `InputError` if ``bundle`` is malformed;
    a tampered but well-formed bundle is reported, never raised.
    """
    parsed = _parse_bundle(bundle)
    node_chain_id = int(_chain_call(lambda: w3.eth.chain_id))
    problems: list[str] = []
    if parsed.chain_id != node_chain_id:
        problems.append(
            f"the bundle is for chain {parsed.chain_id}, the node serves chain {node_chain_id}"
        )
    if passport is not None and _parse_address(passport, "passport") != parsed.passport:
        problems.append(f"the bundle names passport {parsed.passport}, expected {passport}")
    head = int(_chain_call(lambda: w3.eth.block_number))
    if parsed.to_block > head:
        problems.append(f"the node's head ({head}) is behind the bundle's to_block")
    scan_to = min(parsed.to_block, head)
    verifier = _Verifier(w3, parsed, node_chain_id)
    markets: list[ChecksumAddress] = []
    if parsed.chain_id == node_chain_id and parsed.from_block <= scan_to:
        markets = _markets_named(w3, parsed.passport, parsed.from_block, scan_to)
    for market in parsed.markets:
        if market not in markets:
            problems.append(f"contracts.markets names {market}, which the passport never named")
    verifier.contracts = _contract_names(parsed.passport, markets)

    entries = tuple(verifier.check(entry) for entry in parsed.entries)
    seen = [(e.transaction_hash, e.log_index) for e in parsed.entries]
    if len(set(seen)) != len(seen):
        problems.append("the bundle lists the same log more than once")

    omitted: list[OmittedLog] = []
    checked = False
    if check_complete and parsed.chain_id == node_chain_id and parsed.to_block <= head:
        on_chain = _fetch_item_logs(
            w3, verifier.contracts, parsed.item, parsed.from_block, parsed.to_block
        )
        listed = set(seen)
        for log in on_chain:
            if log.key not in listed:
                spec = _specs(verifier.contracts[log.address]).get(log.topics[0])
                omitted.append(
                    OmittedLog(
                        address=log.address,
                        event=spec.name if spec is not None else log.topics[0],
                        block_number=log.block_number,
                        transaction_hash=log.transaction_hash,
                        log_index=log.log_index,
                    )
                )
        checked = True
    ok = (
        not problems
        and all(entry.ok for entry in entries)
        and not omitted
        and (checked or not check_complete)
    )
    return BundleVerification(
        ok=ok,
        item_id="0x" + parsed.item.hex(),
        bundle_chain_id=parsed.chain_id,
        node_chain_id=node_chain_id,
        entries=entries,
        omitted=tuple(omitted),
        completeness_checked=checked,
        problems=tuple(problems),
    )


def verify_bundle_file(
    path: Path, rpc_url: str, *, passport: str | None = None
) -> BundleVerification:
    """`verify_bundle` on the bundle at ``path`` against the node at ``rpc_url``; for
    ``provenance verify-bundle FILE --rpc URL``.

    ``rpc_url`` is anything `ledger.chain.connect` takes (an ``http(s)://`` URL, ``anvil``,
    ``embedded``); an unreachable node raises `ChainUnavailableError`.
    """
    from ledger.chain import connect  # the chain module pulls in node management; load late

    bundle = load_bundle(Path(path))
    with connect(target=rpc_url) as connection:
        return verify_bundle(bundle=bundle, w3=connection.w3, passport=passport)
