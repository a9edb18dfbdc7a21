"""The event indexer: every event of the deployed contracts, followed into SQLite.

Why this exists: an item's history straight from a node costs three ``eth_getLogs`` calls and a
block fetch per block, and lists of items by owner or status cannot be asked of a node at all.
The indexer copies every log of the deployment's contracts into ``<data dir>/index.db`` (schema
in `ledger.index_store`) with derived ``items`` and ``accounts`` rows, so reads are one indexed
SQLite query. The chain stays the source of truth: the file can be deleted and rebuilt from the
chain alone (`Indexer.rebuild`), and `Indexer.fingerprint` proves a rebuild gives the same bytes.

How it follows the chain:

* **ABI-driven.** Contracts are given as ``{name: address}`` (``passport``, later ``market``);
  each name maps to a compiled artifact (`CONTRACT_ARTIFACTS`, or the name itself) whose event
  ABI decodes its logs. Nothing here lists event names except the derived-row rules in
  `ledger.index_store`; a new contract or event is indexed as soon as its artifact ships.
* **Batched.** ``eth_getLogs`` over block ranges for all addresses at once (2,000 blocks to start,
  halved when the node answers "too many results" or times out, grown back after successes);
  block headers are fetched only for blocks that have logs, plus the chunk's first and last
  block (batched JSON-RPC where the provider supports it).
* **Exactly once.** A chunk's events, derived rows and the new checkpoint (block number and
  hash) are one SQLite transaction, committed only on top of the checkpoint it was fetched from;
  rows are unique on (tx hash, log index). Killed at any instant, a restart resumes at the
  checkpoint with no gap and no duplicate.
* **Reorg-safe.** Each poll compares the checkpoint's hash with the chain's block at that height.
  On a mismatch it walks back the remembered recent hashes to the newest one still on the chain,
  deletes everything above it, rebuilds the derived rows those events touched, and re-indexes.
  A chunk is also checked while fetched: its first block's parent must be the checkpoint, each
  log's block hash must match the header fetched for it, and the last block must not change
  while the logs are read. ``confirmations`` keeps the index that many blocks behind the head
  (0 on local chains); a reorg deeper than the kept hashes (``reorg_limit``) stops the indexer
  with `ReorgTooDeepError`, whose message says to rebuild.

Run it as ``provenance index [--rebuild] [--follow]`` (`run_indexer_cli`), in a gateway thread
(`Indexer.run`), or standalone: ``python -m ledger.indexer --rpc URL --db PATH --contracts JSON``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_typing import ChecksumAddress
from eth_utils import event_abi_to_log_topic, to_checksum_address
from hexbytes import HexBytes
from requests.exceptions import Timeout
from web3 import Web3
from web3.exceptions import BlockNotFound, Web3RPCError, Web3TypeError
from web3.types import FilterParams, LogReceipt

from ledger.artifacts import ArtifactNotFoundError, load_artifact
from ledger.errors import ConfigurationError, InputError
from ledger.index_store import (
    INDEX_FILE,
    PASSPORT_ARTIFACT,
    SCHEMA_VERSION,
    BlockRef,
    IndexedEvent,
    IndexerError,
    IndexMismatchError,
    IndexReader,
    IndexStore,
    ReorgTooDeepError,
    StaleCheckpointError,
)
from ledger.types import (
    AccountStatus,
    ConditionGrade,
    ItemStatus,
    RetirementKind,
    ServiceKind,
    Verdict,
)

__all__ = [
    "CONTRACT_ARTIFACTS",
    "DEFAULT_CHUNK_BLOCKS",
    "DEFAULT_REMOTE_CONFIRMATIONS",
    "INDEX_FILE",
    "REBUILD_SUFFIX",
    "SCHEMA_VERSION",
    "SOLIDITY_ENUMS",
    "BlockRef",
    "IndexMismatchError",
    "IndexReader",
    "Indexer",
    "IndexerError",
    "LogDecoder",
    "RawLog",
    "ReorgTooDeepError",
    "contracts_of",
    "main",
    "run_indexer_cli",
]

log = logging.getLogger(__name__)

CONTRACT_ARTIFACTS: Mapping[str, str] = {"passport": PASSPORT_ARTIFACT, "market": "ResaleMarket"}
"""Deployment name -> artifact name; any other name is taken to be an artifact name itself."""

DEFAULT_CHUNK_BLOCKS = 2_000
DEFAULT_REMOTE_CONFIRMATIONS = 12
"""Blocks the CLI stays behind the head on chains other than local dev chains."""
REBUILD_SUFFIX = ".rebuild"
"""`Indexer.rebuild` builds ``index.db`` anew in ``index.db.rebuild`` before swapping it in."""

_LOCAL_CHAIN_IDS = frozenset({31337, 1337})
_MAX_CHUNK_BLOCKS = 10_000
_BATCH_SIZE = 100


def _snake_member(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _python_enum(enum: Any) -> tuple[str, ...]:
    return tuple(member.name.lower() for member in sorted(enum, key=int))


SOLIDITY_ENUMS: Mapping[str, tuple[str, ...]] = {
    **{
        cls.__name__: _python_enum(cls)
        for cls in (AccountStatus, ConditionGrade, ItemStatus, RetirementKind, ServiceKind, Verdict)
    },
    # contracts/types/MarketTypes.sol, in declaration order (a test checks them against it).
    **{
        name: tuple(_snake_member(m) for m in members)
        for name, members in {
            "ListingStatus": ("None", "Open", "Filled", "Cancelled"),
            "VoidReason": (
                "None",
                "Cancelled",
                "Filled",
                "Expired",
                "ItemMoved",
                "ItemFlagged",
                "ItemRetired",
                "ItemLocked",
                "SellerNotActive",
                "Counterfeit",
            ),
            "SaleState": (
                "None",
                "Paid",
                "Shipped",
                "Disputed",
                "Completed",
                "Refunded",
                "PartiallyRefunded",
            ),
            "DisputeReason": ("None", "NotReceived", "NotAsDescribed", "Counterfeit", "Other"),
            "Ruling": ("None", "Refund", "Release", "PartialRefund"),
            "Settlement": (
                "Confirmed",
                "Finalized",
                "CancelledUnshipped",
                "Ruled",
                "DefaultRefund",
            ),
        }.items()
    },
}
"""Solidity enum name -> its members as lowercase snake_case names, by ordinal.

An ABI only says ``uint8`` (and ``internalType: "enum Verdict"``), so the names come from here;
an enum missing from this table is stored as its number.
"""

# Arguments that name an item (token id = item id). `id` counts only as uint256 (ERC-721
# Transfer/Approval); AccountVetted's `id` is a uint32 registry id.
_ITEM_ARGS = frozenset({"itemId", "tokenId", "predecessorId", "successorId"})
# Who acted, by argument name, most specific first (matches `ledger.history` for item events).
_ACTOR_ARGS = (
    "by", "registrant", "authenticator", "arbiter", "from", "buyer", "seller", "party",
    "market", "sender", "owner", "account", "_party", "_arbitrator",
)  # fmt: skip
_DYNAMIC_TYPES = frozenset({"string", "bytes"})
_STATIC_SCALAR = re.compile(r"^(u?int\d*|address|bool|bytes([1-9]|[12]\d|3[0-2]))$")


@dataclass(frozen=True, slots=True)
class RawLog:
    """One log as a node returns it, normalised (hex lowercase, address checksummed)."""

    block_number: int
    block_hash: str
    tx_index: int
    tx_hash: str
    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str

    @classmethod
    def from_receipt(cls, entry: LogReceipt) -> RawLog:
        return cls(
            block_number=int(entry["blockNumber"]),
            block_hash=HexBytes(entry["blockHash"]).to_0x_hex(),
            tx_index=int(entry["transactionIndex"]),
            tx_hash=HexBytes(entry["transactionHash"]).to_0x_hex(),
            log_index=int(entry["logIndex"]),
            address=_checksum(str(entry["address"]).lower()),
            topics=tuple(HexBytes(t).to_0x_hex() for t in entry["topics"]),
            data=HexBytes(entry["data"]).to_0x_hex(),
        )


# ---------------------------------------------------------------------- decoding


@lru_cache(maxsize=1 << 16)
def _checksum(lower_hex: str) -> str:
    # Keccak per address is the costliest step of decoding; addresses repeat a lot.
    return str(to_checksum_address(lower_hex))


@dataclass(frozen=True, slots=True)
class _Input:
    name: str
    type: str
    indexed: bool
    enum: tuple[str, ...] | None
    components: tuple[_Input, ...] | None


def _parse_input(entry: Mapping[str, Any]) -> _Input:
    internal = str(entry.get("internalType") or "")
    enum = None
    if internal.startswith("enum "):
        enum = SOLIDITY_ENUMS.get(internal.removeprefix("enum ").split(".")[-1])
    components = entry.get("components")
    return _Input(
        name=str(entry.get("name") or ""),
        type=str(entry["type"]),
        indexed=bool(entry.get("indexed")),
        enum=enum,
        components=tuple(_parse_input(c) for c in components) if components else None,
    )


def _abi_type(spec: _Input) -> str:
    if spec.type.startswith("tuple"):
        assert spec.components is not None
        return f"({','.join(_abi_type(c) for c in spec.components)}){spec.type[5:]}"
    return spec.type


def _render(spec: _Input, value: Any, type_: str | None = None) -> Any:
    """A decoded ABI value as JSON: hex bytes, checksummed addresses, enum names, lists."""
    type_ = spec.type if type_ is None else type_
    if type_.endswith("]"):
        inner = type_[: type_.rindex("[")]
        return [_render(spec, v, inner) for v in value]
    if type_ == "tuple":
        assert spec.components is not None
        return {c.name: _render(c, v) for c, v in zip(spec.components, value, strict=True)}
    if type_ == "address":
        return _checksum(str(value).lower())
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if spec.enum is not None and isinstance(value, int) and 0 <= value < len(spec.enum):
        return spec.enum[value]
    return value


def _word_decoder(spec: _Input) -> Callable[[str], Any]:
    """A decoder of one static scalar from a 64-digit hex word (a topic or a data slot).

    Chosen once per ABI input, so decoding a log is a few slicing calls instead of eth_abi's
    generic machinery: this is most of what makes catch-up fast.
    """
    type_ = spec.type
    if type_ == "address":
        return lambda word: _checksum("0x" + word[24:])
    if type_ == "bool":
        return lambda word: word.strip("0") != ""
    if type_.startswith("uint"):
        names = spec.enum
        if names is not None:
            return lambda word: names[value] if (value := int(word, 16)) < len(names) else value
        return lambda word: int(word, 16)
    if type_.startswith("int"):
        # Sign-extended to 256 bits in topics and data alike.
        return lambda word: value - (1 << 256) if (value := int(word, 16)) >> 255 else value
    if type_ == "bytes32":
        return lambda word: "0x" + word
    size = 2 * int(type_[5:])  # bytesN: left-aligned
    return lambda word: "0x" + word[:size]


_TOPIC, _SLOT, _DYNAMIC, _DECODED, _HASHED = range(5)
"""Where an argument comes from: a topic word, a static data slot, a top-level ``string`` or
``bytes`` (offset in a slot), eth_abi's output (anything else), or a topic that is the keccak
hash of a dynamic indexed value (kept as that hash)."""


def _dynamic(data: str, slot: int, *, text: bool) -> Any:
    """A top-level ``string``/``bytes`` argument from hex ``data`` (without 0x), by hand."""
    offset = 2 * int(data[64 * slot : 64 * slot + 64], 16)
    length = 2 * int(data[offset : offset + 64], 16)
    body = data[offset + 64 : offset + 64 + length]
    if len(body) != length:
        raise ValueError("dynamic argument runs past the data")
    return bytes.fromhex(body).decode("utf-8") if text else "0x" + body


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    source: int
    position: int
    word: Callable[[str], Any] | None
    spec: _Input


@dataclass(frozen=True, slots=True)
class _EventSpec:
    contract: str
    name: str
    fields: tuple[_Field, ...]
    topic_count: int
    data_words: int
    plain_static: bool
    plain_types: tuple[str, ...]
    item_args: tuple[str, ...]
    actor_arg: str | None


def _event_spec(contract: str, entry: Mapping[str, Any]) -> _EventSpec:
    inputs = [_parse_input(i) for i in entry.get("inputs", [])]
    item_args = tuple(
        i.name
        for i in inputs
        if (i.name in _ITEM_ARGS and i.type in ("bytes32", "uint256"))
        or (i.name == "id" and i.type == "uint256")
    )
    addresses = {i.name for i in inputs if i.type == "address"}
    plain = [i for i in inputs if not i.indexed]
    # "Simple": static scalars plus top-level string/bytes, all decoded by hand.
    plain_static = all(_STATIC_SCALAR.match(i.type) or i.type in _DYNAMIC_TYPES for i in plain)
    fields: list[_Field] = []
    topic, slot = 1, 0
    for spec in inputs:
        static = bool(_STATIC_SCALAR.match(spec.type))
        if spec.indexed:
            source = _TOPIC if static else _HASHED
            fields.append(_Field(spec.name, source, topic, _word_decoder(spec) if static else None,
                                 spec))  # fmt: skip
            topic += 1
        else:
            if plain_static and spec.type in _DYNAMIC_TYPES:
                fields.append(_Field(spec.name, _DYNAMIC, slot, None, spec))
            elif plain_static:
                fields.append(_Field(spec.name, _SLOT, slot, _word_decoder(spec), spec))
            else:
                fields.append(_Field(spec.name, _DECODED, slot, None, spec))
            slot += 1
    return _EventSpec(
        contract=contract,
        name=str(entry["name"]),
        fields=tuple(fields),
        topic_count=topic,
        data_words=slot,
        plain_static=plain_static,
        plain_types=tuple(_abi_type(i) for i in plain),
        item_args=item_args,
        actor_arg=next((a for a in _ACTOR_ARGS if a in addresses), None),
    )


def _item_ref(value: Any) -> str | None:
    if isinstance(value, int):
        return f"0x{value:064x}"
    if isinstance(value, str) and len(value) == 66:
        return value.lower()
    return None


class LogDecoder:
    """Decodes logs of known contracts with their ABIs, quickly (static words without eth_abi).

    ``contracts`` maps a contract name to ``(address, abi)``. A log whose topic is not in its
    contract's ABI is kept with ``event=None`` and empty arguments: nothing is dropped.
    """

    def __init__(self, contracts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]]) -> None:
        self.names: dict[str, str] = {}
        self._specs: dict[tuple[str, str], _EventSpec] = {}
        for name, (address, abi) in contracts.items():
            checksum = _checksum(address.lower())
            self.names[checksum] = name
            for entry in abi:
                if entry.get("type") == "event" and not entry.get("anonymous"):
                    topic = "0x" + event_abi_to_log_topic(cast(Any, entry)).hex()
                    self._specs[(checksum, topic)] = _event_spec(name, entry)

    @property
    def addresses(self) -> list[ChecksumAddress]:
        return [cast(ChecksumAddress, a) for a in self.names]

    def decode(self, raw: RawLog, *, timestamp: int) -> IndexedEvent:
        contract = self.names.get(raw.address)
        if contract is None:
            raise InputError(f"log from an unknown contract {raw.address}", field="address")
        spec = self._specs.get((raw.address, raw.topics[0])) if raw.topics else None
        args: dict[str, Any] = {}
        if spec is not None:
            try:
                args = self._args(spec, raw)
            except Exception as exc:  # a log that does not fit its ABI: keep it raw
                log.warning("cannot decode %s log %s/%s: %s", spec.name, raw.tx_hash,
                            raw.log_index, exc)  # fmt: skip
                spec, args = None, {}
        refs = [r for r in (_item_ref(args[a]) for a in spec.item_args) if r] if spec else []
        actor = args.get(spec.actor_arg) if spec is not None and spec.actor_arg else None
        return IndexedEvent(
            block_number=raw.block_number,
            block_hash=raw.block_hash,
            tx_index=raw.tx_index,
            log_index=raw.log_index,
            tx_hash=raw.tx_hash,
            contract=contract,
            address=raw.address,
            event=spec.name if spec is not None else None,
            item_id=refs[0] if refs else None,
            other_item_id=refs[1] if len(refs) > 1 else None,
            actor=actor,
            args=args,
            data=raw.data,
            topics=raw.topics,
            timestamp=timestamp,
        )

    @staticmethod
    def _args(spec: _EventSpec, raw: RawLog) -> dict[str, Any]:
        topics = raw.topics
        if len(topics) != spec.topic_count:
            raise ValueError(f"{len(topics)} topics, the ABI has {spec.topic_count}")
        data = raw.data
        decoded: Sequence[Any] = ()
        if spec.plain_static:
            if len(data) < 2 + 64 * spec.data_words:
                raise ValueError("data shorter than the event's arguments")
        else:
            decoded = abi_decode(list(spec.plain_types), bytes.fromhex(data[2:]))
        args: dict[str, Any] = {}
        for field in spec.fields:
            source, n = field.source, field.position
            if source == _TOPIC:
                args[field.name] = field.word(topics[n][2:])  # type: ignore[misc]
            elif source == _SLOT:
                args[field.name] = field.word(data[2 + 64 * n : 66 + 64 * n])  # type: ignore[misc]
            elif source == _DYNAMIC:
                args[field.name] = _dynamic(data[2:], n, text=field.spec.type == "string")
            elif source == _DECODED:
                args[field.name] = _render(field.spec, decoded[n])
            else:
                args[field.name] = topics[n]
        return args


# ---------------------------------------------------------------------- the indexer


class _ChainMoved(Exception):
    """The chain changed under a chunk while it was fetched; try again next poll."""


def _too_many_results(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(
        word in text
        for word in ("too many", "limit", "range", "exceed", "response size", "more than")
    )


def _artifact_for(name: str) -> str:
    return CONTRACT_ARTIFACTS.get(name, name)


def contracts_of(deployment: Any) -> dict[str, ChecksumAddress]:
    """``{name: address}`` of every contract a `Deployment` records.

    Today only ``passport``; a ``market`` attribute (or a ``contracts`` mapping) is picked up
    when the deployment record grows one, so the indexer follows it without changes here.
    """
    found: dict[str, ChecksumAddress] = {"passport": deployment.passport}
    extra = getattr(deployment, "contracts", None)
    if isinstance(extra, Mapping):
        found.update({str(k): to_checksum_address(v) for k, v in extra.items() if v})
    market = getattr(deployment, "market", None)
    if isinstance(market, str) and market and int(market, 16) != 0:
        found["market"] = to_checksum_address(market)
    return found


class Indexer:
    """Follows the events of ``contracts`` into the SQLite file ``db_path``.

    One `Indexer` per file writes; any number of `IndexReader` read. No RPC is made until the
    first `poll_once`, which checks the file was built for this chain and these contracts
    (`IndexMismatchError` otherwise). ``chain_id`` may be given to skip asking the node.
    """

    def __init__(
        self,
        *,
        w3: Web3,
        contracts: Mapping[str, ChecksumAddress],
        db_path: Path,
        start_block: int = 0,
        confirmations: int = 0,
        reorg_limit: int = 64,
        chunk_blocks: int = DEFAULT_CHUNK_BLOCKS,
        chain_id: int | None = None,
        on_chunk: Callable[[int, BlockRef, int], None] | None = None,
    ) -> None:
        if not contracts:
            raise InputError("at least one contract to index is required", field="contracts")
        for name, value in (
            ("start_block", start_block),
            ("confirmations", confirmations),
            ("reorg_limit", reorg_limit - 1),
            ("chunk_blocks", chunk_blocks - 1),
        ):
            if value < 0:
                raise InputError(f"{name} is too small", field=name)
        self.w3 = w3
        self.db_path = Path(db_path)
        self.start_block = start_block
        self.confirmations = confirmations
        self.reorg_limit = reorg_limit
        self.max_chunk = chunk_blocks
        self._chunk = chunk_blocks
        self._chain_id = chain_id
        self._on_chunk = on_chunk
        self.contracts = {
            name: to_checksum_address(address) for name, address in sorted(contracts.items())
        }
        artifacts = {name: _artifact_for(name) for name in self.contracts}
        abis = {}
        for name, artifact in artifacts.items():
            try:
                abis[name] = load_artifact(artifact)["abi"]
            except ArtifactNotFoundError as exc:
                raise ConfigurationError(
                    f"cannot index contract {name!r}: {exc} (known names: "
                    f"{', '.join(sorted(CONTRACT_ARTIFACTS))}, or an artifact name)"
                ) from exc
        self.decoder = LogDecoder(
            {name: (address, abis[name]) for name, address in self.contracts.items()}
        )
        self._contracts_meta = json.dumps(
            {
                name: {"address": address, "artifact": artifacts[name]}
                for name, address in self.contracts.items()
            },
            sort_keys=True,
        )
        self.store = IndexStore(
            self.db_path,
            passports=[n for n, a in artifacts.items() if a == PASSPORT_ARTIFACT],
            reorg_limit=reorg_limit,
        )
        self._prepared = False
        self._checkpoint = self.store.checkpoint()
        self._batch_ok: bool | None = None
        self._lock = threading.RLock()
        self.last_error: BaseException | None = None
        self.last_poll: float | None = None

    # ------------------------------------------------------------------ state

    @property
    def indexed_block(self) -> int | None:
        """The last block whose events are all indexed (None before the first chunk)."""
        checkpoint = self._checkpoint
        return checkpoint.number if checkpoint is not None else None

    def lag(self) -> int:
        """How many blocks the chain's head is ahead of the index (one RPC call)."""
        head = int(self.w3.eth.block_number)
        indexed = self.indexed_block
        return head - (indexed if indexed is not None else self.start_block - 1)

    def status(self) -> dict[str, Any]:
        """What a health endpoint shows: position, lag, last poll and last error."""
        try:
            lag: int | None = self.lag()
        except Exception:  # the node is down; say so rather than fail the health check
            lag = None
        return {
            "indexed_block": self.indexed_block,
            "lag": lag,
            "last_poll": self.last_poll,
            "last_error": repr(self.last_error) if self.last_error is not None else None,
        }

    def fingerprint(self) -> str:
        """Canonical digest of the index contents (see `IndexStore.fingerprint`)."""
        return self.store.fingerprint()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _prepare(self) -> None:
        if self._prepared:
            return
        chain_id = self._chain_id if self._chain_id is not None else int(self.w3.eth.chain_id)
        self._chain_id = chain_id
        self.store.ensure_meta(
            {
                "chain_id": str(chain_id),
                "contracts": self._contracts_meta,
                "start_block": str(self.start_block),
            }
        )
        self._prepared = True

    # ------------------------------------------------------------------ ingest

    def ingest(
        self, logs: Sequence[RawLog], *, blocks: Mapping[int, BlockRef], tip: BlockRef
    ) -> int:
        """Decode ``logs`` and commit them with the checkpoint moved to ``tip``, atomically.

        The one write path: the poller calls it per chunk, the benchmark with synthetic logs.
        ``logs`` are the chunk's logs in chain order, all above the checkpoint and at most at
        ``tip``; ``blocks`` holds the header of every block they are in (for timestamps).
        Returns the number of events stored.
        """
        with self._lock:
            self._prepare()
            expected = self._checkpoint
            floor = expected.number if expected is not None else self.start_block - 1
            if tip.number <= floor:
                raise InputError(
                    f"the chunk must end above block {floor}, not at {tip.number}", field="tip"
                )
            events = []
            for raw in logs:
                block = blocks.get(raw.block_number)
                if not floor < raw.block_number <= tip.number or block is None:
                    raise InputError(
                        f"log in block {raw.block_number} is outside ({floor}, {tip.number}] "
                        "or has no header",
                        field="logs",
                    )
                events.append(self.decoder.decode(raw, timestamp=block.timestamp))
            try:
                stored = self.store.commit(
                    events, tip=tip, expected=expected, blocks=blocks.values()
                )
            except StaleCheckpointError:
                self._checkpoint = self.store.checkpoint()
                raise
            self._checkpoint = tip
            return stored

    # ------------------------------------------------------------------ polling

    def poll_once(self) -> int:
        """Index everything up to ``head - confirmations``; returns the number of new events.

        Rolls back first if the chain reorganised under the checkpoint.
        """
        with self._lock:
            self._prepare()
            self._checkpoint = self.store.checkpoint()
            head = int(self.w3.eth.block_number)
            safe = head - self.confirmations
            self._unwind_reorg()
            total = 0
            moves = 0
            while True:
                start = self._next_block()
                end = min(start + self._chunk - 1, safe)
                if start > end:
                    break
                try:
                    logs, blocks, tip = self._fetch(start, end)
                except _ChainMoved as exc:
                    log.info("chain moved during fetch of %d..%d (%s)", start, end, exc)
                    moves += 1
                    if moves > 3:
                        break  # a busy reorg: leave it to the next poll
                    self._unwind_reorg()
                    continue
                except (Web3RPCError, Timeout, TimeoutError) as exc:
                    if isinstance(exc, Web3RPCError) and not _too_many_results(exc):
                        raise
                    if self._chunk == 1:
                        raise
                    self._chunk = max(1, self._chunk // 2)
                    log.info("getLogs refused %d blocks (%s); trying %d", end - start + 1, exc,
                             self._chunk)  # fmt: skip
                    continue
                try:
                    stored = self.ingest(logs, blocks=blocks, tip=tip)
                except StaleCheckpointError:
                    continue  # someone else indexed it; carry on from the new checkpoint
                total += stored
                self._chunk = min(self.max_chunk, self._chunk * 2)
                if self._on_chunk is not None:
                    self._on_chunk(stored, tip, head)
            self.last_poll = time.time()
            return total

    def _next_block(self) -> int:
        checkpoint = self._checkpoint
        return max(self.start_block, checkpoint.number + 1) if checkpoint else self.start_block

    @property
    def rebuild_path(self) -> Path:
        """Where `rebuild` builds the new index before swapping it in (``index.db.rebuild``)."""
        return self.db_path.with_name(self.db_path.name + REBUILD_SUFFIX)

    def rebuild(self, *, max_rounds: int = 10) -> int:
        """Reproduce the index from the chain alone; returns the events the new index holds.

        The new index is built aside (`rebuild_path`, by an `Indexer` with the same settings)
        while the old one keeps serving, then copied over it in one transaction
        (`IndexStore.replace_with`): readers see the complete old index, then the complete new
        one, never an empty or partial one. Needs free disk of about twice the index's size. A
        failure before the swap leaves the live index untouched; the side file is removed
        (and any left by a killed rebuild is removed first). An `Indexer` of another process
        on the same file whose chunk was fetched before the swap gets `StaleCheckpointError`
        at commit and carries on from the new checkpoint (`poll_once`). ``max_rounds`` bounds
        the extra polls that bring the side index up to a moving head before the swap.
        """
        with self._lock:
            side = self.rebuild_path
            _remove_index_files(side)
            try:
                with self._side_indexer(side) as fresh:
                    indexed = fresh.poll_once()
                    # Catch up as far as the chain is now, so the swap does not move readers
                    # back from where the old index was; the poll below takes what is left.
                    for _ in range(max_rounds):
                        floor = self.start_block - 1
                        position = fresh.indexed_block
                        safe = int(self.w3.eth.block_number) - self.confirmations
                        if (position if position is not None else floor) >= safe:
                            break
                        indexed += fresh.poll_once()
                    self._batch_ok = fresh._batch_ok
                self.store.replace_with(side)
            finally:
                _remove_index_files(side)
            self._checkpoint = None
            self._prepared = False
            self._chunk = self.max_chunk
            return indexed + self.poll_once()

    def _side_indexer(self, path: Path) -> Indexer:
        side = Indexer(
            w3=self.w3,
            contracts=self.contracts,
            db_path=path,
            start_block=self.start_block,
            confirmations=self.confirmations,
            reorg_limit=self.reorg_limit,
            chunk_blocks=self.max_chunk,
            chain_id=self._chain_id,
            on_chunk=self._on_chunk,
        )
        side._batch_ok = self._batch_ok
        return side

    def run(self, stop_event: threading.Event, interval: float = 1.0) -> None:
        """Poll every ``interval`` seconds until ``stop_event`` is set (a gateway thread's body).

        Transient failures (node down, timeouts) are logged and retried; a reorg deeper than
        the kept hashes, or an index built for something else, stops the loop (see
        ``last_error``) because only a rebuild can fix it.
        """
        while not stop_event.is_set():
            try:
                self.poll_once()
                self.last_error = None
            except (ReorgTooDeepError, IndexMismatchError) as exc:
                log.error("indexer stopped: %s", exc)
                self.last_error = exc
                return
            except Exception as exc:
                log.warning("indexer poll failed (will retry): %s", exc)
                self.last_error = exc
            stop_event.wait(interval)

    # ------------------------------------------------------------------ chain access

    def _block(self, number: int) -> BlockRef | None:
        try:
            block = self.w3.eth.get_block(number)
        except BlockNotFound:
            return None
        return _block_ref(block)

    def _blocks(self, numbers: Sequence[int]) -> dict[int, BlockRef]:
        found: dict[int, BlockRef] = {}
        pending = list(numbers)
        if len(pending) > 1 and self._batch_ok is not False:
            try:
                for start in range(0, len(pending), _BATCH_SIZE):
                    group = pending[start : start + _BATCH_SIZE]
                    with self.w3.batch_requests() as batch:
                        for number in group:
                            batch.add(self.w3.eth.get_block(number))
                        results = batch.execute()
                    for number, block in zip(group, results, strict=True):
                        if not isinstance(block, Mapping) or "hash" not in block:
                            raise _ChainMoved(f"block {number} is gone")
                        found[number] = _block_ref(block)
                self._batch_ok = True
                return found
            except Web3TypeError:  # the provider has no batch support (eth-tester)
                self._batch_ok = False
        for number in pending:
            if number in found:
                continue
            ref = self._block(number)
            if ref is None:
                raise _ChainMoved(f"block {number} is gone")
            found[number] = ref
        return found

    def _fetch(self, start: int, end: int) -> tuple[list[RawLog], dict[int, BlockRef], BlockRef]:
        """The logs of blocks ``start..end`` and the headers they need, checked for consistency."""
        tip = self._block(end)
        if tip is None:
            raise _ChainMoved(f"block {end} is gone")
        first = tip if start == end else self._block(start)
        if first is None:
            raise _ChainMoved(f"block {start} is gone")
        checkpoint = self._checkpoint
        if (
            checkpoint is not None
            and start == checkpoint.number + 1
            and first.parent_hash != checkpoint.hash
        ):
            raise _ChainMoved(f"block {start} no longer follows the checkpoint")
        params: FilterParams = {
            "address": self.decoder.addresses,
            "fromBlock": start,
            "toBlock": end,
        }
        entries = [e for e in self.w3.eth.get_logs(params) if not e.get("removed")]
        logs = sorted(
            (RawLog.from_receipt(e) for e in entries), key=lambda r: (r.block_number, r.log_index)
        )
        wanted = sorted({r.block_number for r in logs} - {start, end})
        blocks = self._blocks(wanted)
        blocks[start], blocks[end] = first, tip
        for raw in logs:
            if blocks[raw.block_number].hash != raw.block_hash:
                raise _ChainMoved(f"block {raw.block_number} changed while its logs were read")
        again = self._block(end)
        if again is None or again.hash != tip.hash:
            raise _ChainMoved(f"block {end} changed while the chunk was read")
        return logs, blocks, tip

    def _unwind_reorg(self) -> None:
        """If the checkpoint is no longer on the chain, roll back to the newest block that is."""
        checkpoint = self._checkpoint
        if checkpoint is None:
            return
        current = self._block(checkpoint.number)
        if current is not None and current.hash == checkpoint.hash:
            return
        ancestor: BlockRef | None = None
        for number, stored_hash in self.store.recent_hashes():
            if number >= checkpoint.number:
                continue
            block = self._block(number)
            if block is not None and block.hash == stored_hash:
                ancestor = block
                break
        if ancestor is None and checkpoint.number - (self.start_block - 1) > self.reorg_limit:
            raise ReorgTooDeepError(
                f"the chain no longer holds any of the last {self.reorg_limit} blocks this index "
                f"remembers (checkpoint {checkpoint.number}); the reorg is deeper than the "
                f"index can unwind: rebuild it with `provenance index --rebuild`"
            )
        removed = self.store.rollback_to(ancestor)
        log.warning(
            "chain reorganised below block %d: rolled back to %s (%d events removed)",
            checkpoint.number,
            ancestor.number if ancestor is not None else "the start",
            removed,
        )
        self._checkpoint = ancestor


def _remove_index_files(path: Path) -> None:
    for name in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + name).unlink(missing_ok=True)


def _block_ref(block: Mapping[str, Any]) -> BlockRef:
    return BlockRef(
        number=int(block["number"]),
        hash=HexBytes(block["hash"]).to_0x_hex(),
        timestamp=int(block["timestamp"]),
        parent_hash=HexBytes(block["parentHash"]).to_0x_hex(),
    )


# ---------------------------------------------------------------------- entry points


def _is_local(w3: Web3, chain_id: int) -> bool:
    from ledger.chain import is_embedded

    return chain_id in _LOCAL_CHAIN_IDS or is_embedded(w3)


def run_indexer_cli(
    *, w3: Web3, deployment: Any, data_dir: Path, rebuild: bool, follow: bool
) -> None:
    """``provenance index [--rebuild] [--follow]``: catch up (or rebuild), then maybe follow.

    Indexes every contract of ``deployment`` (`contracts_of`) into ``<data_dir>/index.db`` from
    its deployment block; stays `DEFAULT_REMOTE_CONFIRMATIONS` behind the head except on local
    dev chains. Progress goes to stderr, a summary to stdout. With ``follow`` it polls every
    second until SIGINT/SIGTERM. Errors are `LedgerError`s for the CLI to report.
    """
    chain_id = int(deployment.chain_id)
    confirmations = 0 if _is_local(w3, chain_id) else DEFAULT_REMOTE_CONFIRMATIONS
    last_report = [0.0]

    def progress(stored: int, tip: BlockRef, head: int) -> None:
        now = time.monotonic()
        if now - last_report[0] >= 2.0:
            last_report[0] = now
            print(f"  block {tip.number} of {head} (+{stored} events)", file=sys.stderr)

    indexer = Indexer(
        w3=w3,
        contracts=contracts_of(deployment),
        db_path=Path(data_dir) / INDEX_FILE,
        start_block=int(deployment.block_number),
        confirmations=confirmations,
        chain_id=chain_id,
        on_chunk=progress,
    )
    try:
        started = time.monotonic()
        indexed = indexer.rebuild() if rebuild else indexer.poll_once()
        counts = indexer.store.counts()
        print(
            f"{'rebuilt' if rebuild else 'indexed'} {indexed} new events up to block "
            f"{indexer.indexed_block} in {time.monotonic() - started:.1f}s "
            f"({counts['events']} events, {counts['items']} items, {counts['accounts']} "
            f"accounts in {indexer.db_path})"
        )
        if follow:
            stop = threading.Event()
            with _stop_on_signals(stop):
                print("following the chain; Ctrl-C to stop", file=sys.stderr)
                indexer.run(stop, interval=1.0)
            if indexer.last_error is not None and isinstance(indexer.last_error, IndexerError):
                raise indexer.last_error
    finally:
        indexer.close()


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Any:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.indexer", description="Index contract events into SQLite."
    )
    parser.add_argument("--rpc", required=True, help="JSON-RPC URL of the node")
    parser.add_argument("--db", required=True, type=Path, help="index file (e.g. data/index.db)")
    parser.add_argument("--contracts", required=True, help='JSON object {"passport": "0x...", ...}')
    parser.add_argument("--start-block", type=int, default=0)
    parser.add_argument("--confirmations", type=int, default=0)
    parser.add_argument("--reorg-limit", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK_BLOCKS, help="blocks per chunk")
    parser.add_argument("--rebuild", action="store_true", help="rebuild aside, then swap in")
    parser.add_argument("--follow", action="store_true", help="keep polling until signalled")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone indexer; prints a JSON summary (position, counts, fingerprint) on exit."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        contracts = json.loads(args.contracts)
        if not isinstance(contracts, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        print(f"--contracts must be a JSON object of name -> address: {exc}", file=sys.stderr)
        return 2
    from web3 import HTTPProvider

    w3 = Web3(HTTPProvider(args.rpc, request_kwargs={"timeout": 30}))
    try:
        with Indexer(
            w3=w3,
            contracts=contracts,
            db_path=args.db,
            start_block=args.start_block,
            confirmations=args.confirmations,
            reorg_limit=args.reorg_limit,
            chunk_blocks=args.chunk,
        ) as indexer:
            indexed = indexer.rebuild() if args.rebuild else indexer.poll_once()
            if args.follow:
                stop = threading.Event()
                with _stop_on_signals(stop):
                    indexer.run(stop, interval=args.interval)
            summary = {
                "indexed_block": indexer.indexed_block,
                "new_events": indexed,
                **indexer.store.counts(),
                "fingerprint": indexer.fingerprint(),
                "error": str(indexer.last_error) if indexer.last_error else None,
            }
    except (ConfigurationError, IndexerError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
