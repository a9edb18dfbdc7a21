"""The event index's SQLite storage: schema, exactly-once commits, reorg rollback, and reads.

Why this is separate from `ledger.indexer`: the indexer talks to a node and decodes logs with the
ABI; this module only knows decoded events and blocks. That split lets the benchmark and the tests
feed events straight into the very commit path the poller uses, and lets the gateway read the
index (`IndexReader`) without web3 in the loop.

Schema (``SCHEMA_VERSION`` 1; hashes, ids and topics are lowercase 0x-hex, addresses EIP-55)::

    meta(key PRIMARY KEY, value)          schema_version, chain_id, contracts (JSON
                                          {name: {address, artifact}}), start_block
    checkpoint(id=1, block_number, block_hash)
                                          the last block whose events are all in `events`
    recent_blocks(block_number PRIMARY KEY, block_hash)
                                          hashes seen in the last `reorg_limit` blocks below
                                          the checkpoint, plus the newest older one (an
                                          anchor), to find the common ancestor after a reorg
    events(block_number, block_hash, tx_index, log_index, tx_hash, contract, address, event,
           item_id, other_item_id, actor, args, data, topics, timestamp)
        UNIQUE (tx_hash, log_index)       exactly once
        UNIQUE (block_number, log_index)  chain order (log indexes are numbered per block)
        INDEX (item_id, block_number, log_index)            history reads
        INDEX (other_item_id, block_number, log_index)      the second item an event names
                                                            (``ItemSucceeded``'s successor); sparse
        INDEX (event) for AccountVetted/AccountStatusChanged  account rebuilds; sparse
        `contract` is the deployment's name for the emitter ("passport", "market"); `event` is the
        ABI name (NULL for a topic the ABI does not know); `args` the decoded arguments as JSON
        under their ABI names (enums as lowercase names, bytes as hex, addresses checksummed);
        `data`/`topics` the raw log; `actor` the address that acted (``by``, ``registrant``...).
    items(item_id PRIMARY KEY, owner, registrant, status, brand_certified, flagged_by_admin,
          locked, last_verdict, metadata_hash, metadata_uri, predecessor_id, successor_id,
          registered_block, registered_at, last_event_block)
        INDEX (owner, item_id), (registrant, item_id), (status, item_id): filtered pagination
    accounts(address PRIMARY KEY, id, name, roles, status, credential_hash, vetted_at,
             updated_at, updated_block)

`items` and `accounts` are derived from the passport's events and are written in the same
transaction as the events and the checkpoint, so a reader never sees one without the other and a
crash at any point (even ``kill -9``) leaves either the whole chunk or none of it. A chunk is only
committed on top of the checkpoint it was fetched from (checked inside the write transaction), so
two indexers on one file, or a restart, can neither skip nor repeat a block.

`IndexReader.item_state` and `IndexReader.item_history` read an item and its history as the same
`ledger.types.Item` and `ledger.history.HistoryEvent` objects the chain client returns, so the
gateway serves either source through the same views. They need no extra columns: the registrant's
registry id is its `accounts` row, and ``transfer_nonce`` counts the item's non-mint transfers
(see `item_state` for permits).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address

from ledger.errors import ConfigurationError, InputError, LedgerError
from ledger.history import EVENT_KINDS, HistoryEvent, history_event
from ledger.localdb import immediate_transaction
from ledger.types import Hash32, Item, ItemId, ItemStatus, Role, Verdict

__all__ = [
    "INDEX_FILE",
    "MARKET_ARTIFACT",
    "PASSPORT_ARTIFACT",
    "SCHEMA_VERSION",
    "BlockRef",
    "IndexMismatchError",
    "IndexReader",
    "IndexStore",
    "IndexedEvent",
    "IndexerError",
    "ReorgTooDeepError",
    "StaleCheckpointError",
]

SCHEMA_VERSION = 1
INDEX_FILE = "index.db"
PASSPORT_ARTIFACT = "ItemPassport"
"""Derived `items`/`accounts` rows follow the events of contracts built from this artifact."""
MARKET_ARTIFACT = "ResaleMarket"
"""Events of contracts built from this artifact join item histories as market kinds."""

_BUSY_TIMEOUT_MS = 10_000
_WAL_LIMIT_BYTES = 64 * 1024 * 1024
_ZERO_ADDRESS = "0x" + "00" * 20
_ACCOUNT_EVENTS = ("AccountVetted", "AccountStatusChanged")
# History leaves out fields that are the item itself (as `ledger.history` does).
_HISTORY_SKIP_FIELDS = frozenset({"itemId", "id", "tokenId"})
_IN_CHUNK = 500  # SQLite's default host-parameter limit is 999 (older builds) / 32766


class IndexerError(LedgerError):
    """The index cannot go on without help (see the subclasses)."""


class ReorgTooDeepError(IndexerError):
    """The chain replaced blocks older than any block hash the index kept; rebuild it."""


class IndexMismatchError(IndexerError, ConfigurationError):
    """The index file was built for another chain, other contracts or another schema."""


class StaleCheckpointError(IndexerError):
    """Someone else moved the checkpoint since this chunk was fetched; fetch again."""


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block as the index needs it: where it is, what it is, and when it was made."""

    number: int
    hash: str
    timestamp: int = 0
    parent_hash: str | None = None


@dataclass(frozen=True, slots=True)
class IndexedEvent:
    """One decoded log, ready to store (see the schema in the module docstring)."""

    block_number: int
    block_hash: str
    tx_index: int
    log_index: int
    tx_hash: str
    contract: str
    address: str
    event: str | None
    item_id: str | None
    other_item_id: str | None
    actor: str | None
    args: Mapping[str, Any]
    data: str
    topics: Sequence[str]
    timestamp: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recent_blocks (
    block_number INTEGER PRIMARY KEY,
    block_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    tx_index INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    address TEXT NOT NULL,
    event TEXT,
    item_id TEXT,
    other_item_id TEXT,
    actor TEXT,
    args TEXT NOT NULL,
    data TEXT NOT NULL,
    topics TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    UNIQUE (tx_hash, log_index),
    UNIQUE (block_number, log_index)
);
CREATE INDEX IF NOT EXISTS events_by_item ON events (item_id, block_number, log_index)
    WHERE item_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_other_item ON events (other_item_id, block_number, log_index)
    WHERE other_item_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_of_accounts ON events (event)
    WHERE event IN ('AccountVetted', 'AccountStatusChanged');
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    owner TEXT,
    registrant TEXT,
    status TEXT,
    brand_certified INTEGER NOT NULL DEFAULT 0,
    flagged_by_admin INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    last_verdict TEXT NOT NULL DEFAULT 'none',
    metadata_hash TEXT,
    metadata_uri TEXT,
    predecessor_id TEXT,
    successor_id TEXT,
    registered_block INTEGER,
    registered_at INTEGER,
    last_event_block INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_owner ON items (owner, item_id);
CREATE INDEX IF NOT EXISTS items_by_registrant ON items (registrant, item_id);
CREATE INDEX IF NOT EXISTS items_by_status ON items (status, item_id);
CREATE TABLE IF NOT EXISTS accounts (
    address TEXT PRIMARY KEY,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    roles INTEGER NOT NULL,
    status TEXT NOT NULL,
    credential_hash TEXT NOT NULL,
    vetted_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_block INTEGER NOT NULL
);
"""

_TABLES = ("meta", "checkpoint", "recent_blocks", "events", "items", "accounts")

_EVENT_COLUMNS = (
    "block_number, block_hash, tx_index, log_index, tx_hash, contract, address, event, "
    "item_id, other_item_id, actor, args, data, topics, timestamp"
)
_INSERT_EVENT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 15)})"
_INSERT_EVENT_OR_IGNORE = _INSERT_EVENT.replace("INSERT", "INSERT OR IGNORE", 1)

_ITEM_COLUMNS = (
    "item_id", "owner", "registrant", "status", "brand_certified", "flagged_by_admin", "locked",
    "last_verdict", "metadata_hash", "metadata_uri", "predecessor_id", "successor_id",
    "registered_block", "registered_at", "last_event_block",
)  # fmt: skip
_ITEM_BOOLS = ("brand_certified", "flagged_by_admin", "locked")
_UPSERT_ITEM = (
    f"INSERT INTO items ({', '.join(_ITEM_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_ITEM_COLUMNS))}) "
    "ON CONFLICT (item_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ITEM_COLUMNS[1:])
)
_ACCOUNT_COLUMNS = (
    "address", "id", "name", "roles", "status", "credential_hash", "vetted_at", "updated_at",
    "updated_block",
)  # fmt: skip
_UPSERT_ACCOUNT = (
    f"INSERT INTO accounts ({', '.join(_ACCOUNT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_ACCOUNT_COLUMNS))}) "
    "ON CONFLICT (address) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ACCOUNT_COLUMNS[1:])
)


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""Compact JSON; one shared encoder (``json.dumps`` with options builds a new one per call)."""


def _topics_json(topics: Sequence[str]) -> str:
    # Topics are 0x-hex: nothing to escape, so plain joining is valid JSON and much cheaper.
    return '["' + '","'.join(topics) + '"]' if topics else "[]"


def _chunks(values: Sequence[str], size: int = _IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


# ---------------------------------------------------------------------- derived rows


class _Derivation:
    """Applies passport events to `items` and `accounts` rows, in chain order.

    Rows are cached for the length of one transaction and written back by `flush`, so a chunk of
    thousands of events touching the same items costs one read and one write per item. The same
    code replays the surviving events after a reorg (with ``only_items``/``only_accounts``), so an
    incrementally maintained row and a rebuilt one cannot drift apart.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        passports: frozenset[str],
        *,
        only_items: frozenset[str] | None = None,
        only_accounts: frozenset[str] | None = None,
    ) -> None:
        self.conn = conn
        self.passports = passports
        self.only_items = only_items
        self.only_accounts = only_accounts
        self.items: dict[str, dict[str, Any] | None] = {}
        self.accounts: dict[str, dict[str, Any] | None] = {}
        self.dirty_items: set[str] = set()
        self.dirty_accounts: set[str] = set()
        # Item rows as read from the table, to write back only the columns that changed.
        self.stored_items: dict[str, tuple[Any, ...]] = {}

    def _item(self, item_id: str, *, create: bool, block: int) -> dict[str, Any] | None:
        if self.only_items is not None and item_id not in self.only_items:
            return None
        if item_id in self.items:
            row = self.items[item_id]
        else:
            found = self.conn.execute(
                f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items WHERE item_id = ?", (item_id,)
            ).fetchone()
            row = dict(zip(_ITEM_COLUMNS, found, strict=True)) if found is not None else None
            self.items[item_id] = row
            if found is not None:
                self.stored_items[item_id] = tuple(found)
        if row is None and create:
            row = dict.fromkeys(_ITEM_COLUMNS)
            row.update(item_id=item_id, brand_certified=0, flagged_by_admin=0, locked=0)
            row.update(last_verdict="none", last_event_block=block)
            self.items[item_id] = row
        if row is not None:
            self.dirty_items.add(item_id)
        return row

    def prefetch(self, item_ids: Iterable[str]) -> None:
        """Load the stored rows of ``item_ids`` in a few sorted ``IN`` queries.

        One query per 500 ids walks the primary key in order; a lookup per item, as `_item`
        would do, costs a random B-tree descent each and dominated catch-up time.
        """
        wanted = sorted({i for i in item_ids if i not in self.items})
        for chunk in _chunks(wanted):
            for found in self.conn.execute(
                f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items "
                f"WHERE item_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ):
                self.items[found[0]] = dict(zip(_ITEM_COLUMNS, found, strict=True))
                self.stored_items[found[0]] = tuple(found)
        for item_id in wanted:
            self.items.setdefault(item_id, None)

    def _account(self, address: str) -> dict[str, Any] | None:
        if self.only_accounts is not None and address not in self.only_accounts:
            return None
        if address in self.accounts:
            row = self.accounts[address]
        else:
            found = self.conn.execute(
                f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts WHERE address = ?", (address,)
            ).fetchone()
            row = dict(zip(_ACCOUNT_COLUMNS, found, strict=True)) if found is not None else None
        if row is None:
            row = dict.fromkeys(_ACCOUNT_COLUMNS)
            row.update(address=address, id=0, name="", roles=0, status="none")
            row.update(credential_hash="0x" + "00" * 32, vetted_at=0, updated_at=0)
        self.accounts[address] = row
        self.dirty_accounts.add(address)
        return row

    def apply(
        self,
        *,
        contract: str,
        event: str | None,
        args: Mapping[str, Any],
        item_id: str | None,
        other_item_id: str | None,
        block: int,
        timestamp: int,
    ) -> None:
        if contract not in self.passports or event is None:
            # Other contracts (the market) only move an item's "last seen" block.
            for ref in (item_id, other_item_id):
                if ref is not None:
                    row = self._item(ref, create=False, block=block)
                    if row is not None:
                        row["last_event_block"] = block
            return
        if event in _ACCOUNT_EVENTS:
            self._apply_account(event, args, block, timestamp)
            return
        if item_id is None:
            return
        row = self._item(item_id, create=True, block=block)
        if event == "ItemSucceeded" and other_item_id is not None:
            successor = self._item(other_item_id, create=True, block=block)
            if successor is not None:
                successor["predecessor_id"] = item_id
                successor["last_event_block"] = block
            if row is not None:
                row["successor_id"] = other_item_id
        if row is None:
            return
        row["last_event_block"] = block
        if event == "Transfer":
            row["owner"] = args["to"]
        elif event == "ItemRegistered":
            row.update(
                registrant=args["registrant"],
                brand_certified=int(bool(args["brandCertified"])),
                metadata_hash=args["metadataHash"],
                status="active",
                registered_block=block,
                registered_at=timestamp,
            )
        elif event == "MetadataUpdated":
            row.update(metadata_hash=args["metadataHash"], metadata_uri=args["metadataURI"])
        elif event == "ItemFlagged":
            # Only the owner or the admin may flag, and an owner who is also the admin acts as
            # owner, so "not the owner" is exactly the contract's flaggedByAdmin.
            row.update(status=args["status"], flagged_by_admin=int(args["by"] != row["owner"]))
        elif event == "FlagCleared":
            row.update(status="active", flagged_by_admin=0)
        elif event == "ItemRetired":
            row.update(status="retired", flagged_by_admin=0)
        elif event == "ItemLocked":
            row["locked"] = 1
        elif event == "ItemUnlocked":
            row["locked"] = 0
        elif event == "ItemAuthenticated":
            row["last_verdict"] = args["verdict"]

    def _apply_account(
        self, event: str, args: Mapping[str, Any], block: int, timestamp: int
    ) -> None:
        row = self._account(args["account"])
        if row is None:
            return
        if event == "AccountVetted":
            # `amend` (active account) keeps the vetting time; `vet` (new, suspended or revoked
            # account) restarts it. Both emit AccountVetted, so the prior status tells them apart.
            if row["status"] != "active":
                row.update(id=args["id"], status="active", vetted_at=timestamp)
            row.update(
                roles=args["roles"], credential_hash=args["credentialHash"], name=args["name"]
            )
        else:
            row["status"] = args["status"]
        row.update(updated_at=timestamp, updated_block=block)

    def flush(self) -> None:
        """Write the touched rows back: new items inserted, stored ones updated column-wise.

        An UPDATE rewrites every index over a column it sets, so setting only the columns that
        changed (the owner on a sale, nothing indexed on a metadata update) spares the owner,
        registrant and status indexes most of the random page writes a catch-up would cost.
        """
        inserts: list[tuple[Any, ...]] = []
        updates: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
        for item_id in sorted(self.dirty_items):
            row = self.items[item_id]
            if row is None:
                continue
            values = tuple(row[c] for c in _ITEM_COLUMNS)
            stored = self.stored_items.get(item_id)
            if stored is None:
                inserts.append(values)
                continue
            changed = tuple(n for n in range(1, len(values)) if values[n] != stored[n])
            if changed:
                updates.setdefault(changed, []).append((*(values[n] for n in changed), item_id))
            self.stored_items[item_id] = values
        self.conn.executemany(_UPSERT_ITEM, inserts)
        for changed, rows in updates.items():
            assignments = ", ".join(f"{_ITEM_COLUMNS[n]} = ?" for n in changed)
            self.conn.executemany(f"UPDATE items SET {assignments} WHERE item_id = ?", rows)
        for values in inserts:
            self.stored_items[values[0]] = values
        accounts = [self.accounts[a] for a in sorted(self.dirty_accounts)]
        self.conn.executemany(
            _UPSERT_ACCOUNT,
            [tuple(row[c] for c in _ACCOUNT_COLUMNS) for row in accounts if row is not None],
        )
        self.dirty_items.clear()
        self.dirty_accounts.clear()


# ---------------------------------------------------------------------- the writer


def _create_private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        with suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))


class IndexStore:
    """The one writer of an index file (thread-safe behind a lock).

    ``passports`` names the contracts whose events drive the derived `items`/`accounts` rows.
    ``reorg_limit`` is how many blocks of hashes are kept for finding a common ancestor.
    """

    def __init__(
        self,
        path: Path,
        *,
        passports: Iterable[str] = ("passport",),
        reorg_limit: int = 64,
        cache_mib: int = 96,
    ) -> None:
        self.path = path
        self.passports = frozenset(passports)
        self.reorg_limit = reorg_limit
        _create_private(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # `replace_with` sends a whole index through the WAL; if a reader kept it from being
        # truncated then, this shrinks it the next time SQLite starts the WAL over.
        self._conn.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
        self._conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # Index pages of random keys (hashes) are hot during catch-up; a bigger cache saves I/O.
        self._conn.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE: the checkpoint read inside the transaction is still true when it commits.
        with immediate_transaction(self._conn, self._lock) as conn:
            yield conn

    # ------------------------------------------------------------------ meta

    def meta(self) -> dict[str, str]:
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def ensure_meta(self, expected: Mapping[str, str]) -> None:
        """Record ``expected`` in a new index, or check an existing one was built the same way.

        Raises `IndexMismatchError` naming the first difference: indexing a second chain or a
        new set of contracts into old rows would mix facts that do not belong together.
        """
        wanted = {"schema_version": str(SCHEMA_VERSION), **expected}
        with self._write() as conn:
            stored = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            has_rows = conn.execute("SELECT 1 FROM checkpoint").fetchone() is not None
            if not stored or not has_rows:
                conn.execute("DELETE FROM meta")
                conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(wanted.items()))
                return
            for key, value in wanted.items():
                if stored.get(key) != value:
                    raise IndexMismatchError(
                        f"the index {self.path} was built with {key}={stored.get(key)!r}, not "
                        f"{value!r}: rebuild it (`provenance index --rebuild`) or use another "
                        "data directory"
                    )

    # ------------------------------------------------------------------ position

    def checkpoint(self) -> BlockRef | None:
        """The last block whose events are all stored, or None before the first commit."""
        with self._lock:
            row = self._conn.execute(
                "SELECT block_number, block_hash FROM checkpoint WHERE id = 1"
            ).fetchone()
        return BlockRef(number=row[0], hash=row[1]) if row is not None else None

    def recent_hashes(self) -> list[tuple[int, str]]:
        """Remembered ``(block number, hash)`` pairs, newest first."""
        with self._lock:
            return [
                (int(n), str(h))
                for n, h in self._conn.execute(
                    "SELECT block_number, block_hash FROM recent_blocks ORDER BY block_number DESC"
                )
            ]

    # ------------------------------------------------------------------ writes

    def commit(
        self,
        events: Sequence[IndexedEvent],
        *,
        tip: BlockRef,
        expected: BlockRef | None,
        blocks: Iterable[BlockRef] = (),
    ) -> int:
        """Store ``events`` (chain order) and move the checkpoint to ``tip``, atomically.

        ``expected`` is the checkpoint the chunk was fetched on top of; if the stored one differs
        (another writer, or a rollback in between) nothing is written and `StaleCheckpointError`
        is raised. Returns the number of events stored; a row already present is never applied
        twice to the derived tables.
        """
        with self._write() as conn:
            row = conn.execute("SELECT block_number, block_hash FROM checkpoint").fetchone()
            current = (row[0], row[1]) if row is not None else None
            wanted = (expected.number, expected.hash) if expected is not None else None
            if current != wanted:
                raise StaleCheckpointError(
                    f"the checkpoint moved from {wanted} to {current} while a chunk was fetched"
                )
            if expected is not None and tip.number < expected.number:
                raise StaleCheckpointError("a chunk cannot end below the checkpoint")
            rows = [
                (
                    e.block_number, e.block_hash, e.tx_index, e.log_index, e.tx_hash,
                    e.contract, e.address, e.event, e.item_id, e.other_item_id, e.actor,
                    _dumps(e.args), e.data, _topics_json(e.topics), e.timestamp,
                )
                for e in events
            ]  # fmt: skip
            fresh: Sequence[IndexedEvent] = events
            conn.execute("SAVEPOINT chunk")
            try:
                conn.executemany(_INSERT_EVENT, rows)
            except sqlite3.IntegrityError:
                # Some rows are already stored (only possible when re-feeding logs by hand):
                # insert one by one and apply only the new ones to the derived rows.
                conn.execute("ROLLBACK TO chunk")
                fresh = [
                    e
                    for e, row in zip(events, rows, strict=True)
                    if conn.execute(_INSERT_EVENT_OR_IGNORE, row).rowcount == 1
                ]
            conn.execute("RELEASE chunk")
            derived = _Derivation(conn, self.passports)
            derived.prefetch(
                ref for e in fresh for ref in (e.item_id, e.other_item_id) if ref is not None
            )
            for event in fresh:
                derived.apply(
                    contract=event.contract,
                    event=event.event,
                    args=event.args,
                    item_id=event.item_id,
                    other_item_id=event.other_item_id,
                    block=event.block_number,
                    timestamp=event.timestamp,
                )
            derived.flush()
            self._remember(conn, [*blocks, tip], tip.number)
            conn.execute(
                "INSERT INTO checkpoint (id, block_number, block_hash) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, "
                "block_hash = excluded.block_hash",
                (tip.number, tip.hash),
            )
            return len(fresh)

    def _remember(self, conn: sqlite3.Connection, blocks: Sequence[BlockRef], tip: int) -> None:
        floor = tip - self.reorg_limit
        conn.executemany(
            "INSERT OR REPLACE INTO recent_blocks VALUES (?, ?)",
            [(b.number, b.hash) for b in blocks if b.number >= floor],
        )
        # Keep the newest hash below the window as an anchor: a shallow reorg right after a long
        # catch-up (whose chunks left few hashes in the window) still finds an ancestor.
        anchor = conn.execute(
            "SELECT MAX(block_number) FROM recent_blocks WHERE block_number < ?", (floor,)
        ).fetchone()[0]
        if anchor is not None:
            conn.execute("DELETE FROM recent_blocks WHERE block_number < ?", (anchor,))

    def rollback_to(self, ancestor: BlockRef | None) -> int:
        """Forget every block above ``ancestor`` (None: everything) and rebuild what they touched.

        Derived rows of the items and accounts named by the removed events are deleted and
        replayed from the events that remain, in one transaction with the checkpoint move.
        Returns how many events were removed.
        """
        above = ancestor.number if ancestor is not None else -1
        with self._write() as conn:
            touched_items: set[str] = set()
            touched_accounts: set[str] = set()
            for item_id, other, event, args in conn.execute(
                "SELECT item_id, other_item_id, event, args FROM events WHERE block_number > ?",
                (above,),
            ):
                touched_items.update(i for i in (item_id, other) if i is not None)
                if event in _ACCOUNT_EVENTS:
                    account = json.loads(args).get("account")
                    if isinstance(account, str):
                        touched_accounts.add(account)
            removed = conn.execute("DELETE FROM events WHERE block_number > ?", (above,)).rowcount
            self._replay(conn, sorted(touched_items), sorted(touched_accounts))
            conn.execute("DELETE FROM recent_blocks WHERE block_number > ?", (above,))
            if ancestor is None:
                conn.execute("DELETE FROM checkpoint")
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO checkpoint (id, block_number, block_hash) "
                    "VALUES (1, ?, ?)",
                    (ancestor.number, ancestor.hash),
                )
                conn.execute(
                    "INSERT OR REPLACE INTO recent_blocks VALUES (?, ?)",
                    (ancestor.number, ancestor.hash),
                )
            return int(removed)

    def _replay(
        self, conn: sqlite3.Connection, items: Sequence[str], accounts: Sequence[str]
    ) -> None:
        for chunk in _chunks(items):
            conn.execute(
                f"DELETE FROM items WHERE item_id IN ({', '.join('?' * len(chunk))})", chunk
            )
        for chunk in _chunks(accounts):
            conn.execute(
                f"DELETE FROM accounts WHERE address IN ({', '.join('?' * len(chunk))})", chunk
            )
        if not items and not accounts:
            return
        derived = _Derivation(
            conn, self.passports, only_items=frozenset(items), only_accounts=frozenset(accounts)
        )
        rows: dict[tuple[int, int], tuple[Any, ...]] = {}
        select = (
            "SELECT block_number, log_index, contract, event, args, item_id, other_item_id, "
            "timestamp FROM events WHERE "
        )
        for chunk in _chunks(items):
            marks = ", ".join("?" * len(chunk))
            for row in conn.execute(
                f"{select} item_id IN ({marks}) UNION ALL {select} other_item_id IN ({marks})",
                (*chunk, *chunk),
            ):
                rows[(row[0], row[1])] = row
        if accounts:
            wanted = set(accounts)
            for row in conn.execute(f"{select} event IN ('AccountVetted', 'AccountStatusChanged')"):
                if json.loads(row[4]).get("account") in wanted:
                    rows[(row[0], row[1])] = row
        for key in sorted(rows):
            block, _, contract, event, args, item_id, other, timestamp = rows[key]
            derived.apply(
                contract=contract,
                event=event,
                args=json.loads(args),
                item_id=item_id,
                other_item_id=other,
                block=block,
                timestamp=timestamp,
            )
        derived.flush()

    def replace_with(self, source: Path) -> None:
        """Make this index an exact copy of the finished index file ``source``, atomically.

        Every page of ``source`` is copied into this file in one write transaction (SQLite's
        online backup, all pages in one step), under this store's lock: a reader keeps the
        snapshot it has and its next transaction sees the whole new index, never an empty or
        half-copied one. Same file, same inode, still WAL, so open `IndexReader`s need no reopen.
        Why not build aside and ``os.replace`` the file: SQLite finds the ``-wal``/``-shm``
        files by path, so a connection opened after the swap can read the old index's WAL
        over the new file (see docs/DESIGN-NOTES.md).
        """
        src = sqlite3.connect(Path(source), timeout=_BUSY_TIMEOUT_MS / 1000)
        try:
            with self._lock:
                src.backup(self._conn)  # pages=-1: all pages, one transaction on this file
                # The copy went through this file's WAL (as big as the index): fold it back now
                # rather than at some later checkpoint. A reader still on the old snapshot
                # blocks the truncation; waiting is pointless then, so wait briefly and let
                # SQLite checkpoint what it can (TRUNCATE degrades to PASSIVE when busy); the
                # WAL is reset by a later checkpoint.
                self._conn.execute("PRAGMA busy_timeout=1000")
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                finally:
                    self._conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        finally:
            src.close()

    # ------------------------------------------------------------------ digests

    def fingerprint(self) -> str:
        """A SHA-256 over the checkpoint and every event, item and account row, canonically.

        Two indexes of the same chain up to the same block have the same fingerprint however
        they got there (catch-up, crash and resume, reorg and rollback, rebuild). The
        recent-hash table is left out: it depends on when polls happened, not on the chain.
        """
        with self._lock:
            return _fingerprint(self._conn)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                table: int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("events", "items", "accounts")
            }


def _fingerprint(conn: sqlite3.Connection) -> str:
    digest = hashlib.sha256()
    queries = (
        ("checkpoint", "SELECT block_number, block_hash FROM checkpoint"),
        ("events", f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY block_number, log_index"),
        ("items", f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items ORDER BY item_id"),
        ("accounts", f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts ORDER BY address"),
    )
    conn.execute("BEGIN")  # one snapshot for all four reads
    try:
        for name, sql in queries:
            digest.update(name.encode() + b"\n")
            for row in conn.execute(sql):
                digest.update(_dumps(list(row)).encode() + b"\n")
    finally:
        conn.execute("COMMIT")
    return digest.hexdigest()


# ---------------------------------------------------------------------- the reader


def _item_key(item_id: object) -> str:
    if isinstance(item_id, bytes | bytearray) and len(item_id) == 32:
        return "0x" + bytes(item_id).hex()
    if isinstance(item_id, str) and item_id[:2] in ("0x", "0X") and len(item_id) == 66:
        try:
            bytes.fromhex(item_id[2:])
        except ValueError:
            pass
        else:
            return item_id.lower()
    raise InputError(f"item_id must be 32 bytes or 0x-hex, got {item_id!r}", field="item_id")


def _address_key(value: object, *, field: str) -> str:
    if not isinstance(value, str) or not is_address(value.lower()):
        raise InputError(f"{field} must be an address, got {value!r}", field=field)
    return str(to_checksum_address(value))


def _status_key(value: object) -> str:
    name = getattr(value, "name", value)
    if not isinstance(name, str):
        raise InputError(f"status must be a status name, got {value!r}", field="status")
    return name.lower()


def _role_names(mask: int) -> list[str]:
    return [str(role.name).lower() for role in Role if mask & role.value]


class IndexReader:
    """Read-only access to an index file, safe to share between threads.

    Each thread gets its own read-only SQLite connection (opened on first use): WAL mode lets
    readers see the last committed chunk while the indexer writes the next one, never half of it.
    """

    def __init__(self, db_path: Path) -> None:
        self.path = Path(db_path)
        self._local = threading.local()
        self._all_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if not self.path.exists():
                raise ConfigurationError(
                    f"no event index at {self.path}: run `provenance index` first"
                )
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            self._local.conn = conn
            with self._conns_lock:
                self._all_conns.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection (call when no thread reads any more)."""
        with self._conns_lock:
            for conn in self._all_conns:
                conn.close()
            self._all_conns.clear()
        self._local = threading.local()

    def __enter__(self) -> IndexReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def meta(self) -> dict[str, str]:
        """The index's meta rows (chain id, contracts...); read each time, a rebuild may change
        them (a tiny table, so this costs microseconds)."""
        return dict(self._conn().execute("SELECT key, value FROM meta").fetchall())

    def _passports(self) -> frozenset[str]:
        contracts = json.loads(self.meta().get("contracts", "{}"))
        return frozenset(
            name for name, spec in contracts.items() if spec.get("artifact") == PASSPORT_ARTIFACT
        )

    @property
    def indexed_block(self) -> int | None:
        row = self._conn().execute("SELECT block_number FROM checkpoint").fetchone()
        return int(row[0]) if row is not None else None

    def checkpoint(self) -> BlockRef | None:
        row = self._conn().execute("SELECT block_number, block_hash FROM checkpoint").fetchone()
        return BlockRef(number=row[0], hash=row[1]) if row is not None else None

    # ------------------------------------------------------------------ items

    @staticmethod
    def _item_row(row: Sequence[Any]) -> dict[str, Any]:
        item = dict(zip(_ITEM_COLUMNS, row, strict=True))
        for name in _ITEM_BOOLS:
            item[name] = bool(item[name])
        return item

    def item(self, item_id: object) -> dict[str, Any] | None:
        """The item's derived row (owner, status, registrant...), or None if never seen."""
        row = (
            self._conn()
            .execute(
                f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items WHERE item_id = ?",
                (_item_key(item_id),),
            )
            .fetchone()
        )
        return self._item_row(row) if row is not None else None

    def items(
        self,
        *,
        owner: str | None = None,
        status: object | None = None,
        registrant: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of items ordered by item id, and the cursor of the next page (None: last).

        The cursor is the last item id of the page, so pages stay stable while new items arrive
        (a new item lands on whichever page its id sorts into, never shifting the others).
        """
        if not 1 <= limit <= 1000:
            raise InputError("limit must be between 1 and 1000", field="limit")
        where: list[str] = []
        params: list[Any] = []
        if owner is not None:
            where.append("owner = ?")
            params.append(_address_key(owner, field="owner"))
        if registrant is not None:
            where.append("registrant = ?")
            params.append(_address_key(registrant, field="registrant"))
        if status is not None:
            where.append("status = ?")
            params.append(_status_key(status))
        if cursor is not None:
            where.append("item_id > ?")
            params.append(_item_key(cursor))
        sql = f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY item_id LIMIT ?"
        params.append(limit + 1)
        rows = [self._item_row(r) for r in self._conn().execute(sql, params).fetchall()]
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1]["item_id"] if more and rows else None)

    def _item_events(self, key: str) -> list[tuple[Any, ...]]:
        columns = (
            "block_number, block_hash, tx_index, log_index, tx_hash, contract, address, event, "
            "item_id, other_item_id, actor, args, data, topics, timestamp"
        )
        return (
            self._conn()
            .execute(
                f"SELECT {columns} FROM events WHERE item_id = ? "
                f"UNION ALL SELECT {columns} FROM events WHERE other_item_id = ? "
                "ORDER BY block_number, log_index",
                (key, key),
            )
            .fetchall()
        )

    def history(self, item_id: object, *, all_events: bool = False) -> list[dict[str, Any]]:
        """The item's history, shaped like ``ledger.history.HistoryEvent.to_json()``.

        By default exactly what `ledger.history.item_history` returns (the passport's item
        events, without the mint transfer), so the gateway can read either source. With
        ``all_events`` every event naming the item is included (the market's too); kinds
        unknown to `ledger.history` are the snake_case event names.
        """
        key = _item_key(item_id)
        passports = self._passports()
        history: list[dict[str, Any]] = []
        for row in self._item_events(key):
            (block, block_hash, _tx_index, log_index, tx_hash, contract, _address, event,
             _item, _other, actor, args_json, _data, _topics, timestamp) = row  # fmt: skip
            if event is None:
                continue
            kind = EVENT_KINDS.get(event) if contract in passports else None
            if kind is None:
                if not all_events:
                    continue
                kind = _snake(event)
            args = json.loads(args_json)
            if kind == "transferred" and args.get("from") == _ZERO_ADDRESS:
                continue  # the mint: `registered` says it
            history.append(
                {
                    "kind": kind,
                    "item_id": key,
                    "actor": actor,
                    "block_number": block,
                    "block_hash": block_hash,
                    "tx_hash": tx_hash,
                    "log_index": log_index,
                    "timestamp": timestamp,
                    "data": {
                        _snake(name): value
                        for name, value in args.items()
                        if name not in _HISTORY_SKIP_FIELDS
                    },
                }
            )
        return history

    # ------------------------------------------------------------------ domain objects

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads inside share one read transaction, so they see the same commit of the indexer
        (``with reader.snapshot(): reader.item_state(x); reader.item_history(x)``). Nests."""
        conn = self._conn()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _artifacts(self, conn: sqlite3.Connection) -> dict[str, str]:
        row = conn.execute("SELECT value FROM meta WHERE key = 'contracts'").fetchone()
        contracts = json.loads(row[0]) if row is not None else {}
        return {name: str(spec.get("artifact")) for name, spec in contracts.items()}

    def item_state(
        self, item_id: object, *, nonce_of: Callable[[ItemId], int] | None = None
    ) -> tuple[Item, Hash32 | None] | None:
        """The item as `ledger.client.ProvenanceClient.item` reads it from the contract, and its
        current metadata hash (`ProvenanceClient.current_metadata_hash`), from one snapshot of
        the index; None if the index has no registration for it.

        Every field follows from the events but one case of ``transfer_nonce``: the contract
        moves it on each transfer and each ERC-4494 permit, and a permit's only log is an ERC-721
        ``Approval``, which a plain ``approve`` emits too. So for an item with any ``Approval``
        the nonce is asked of ``nonce_of`` (the chain, e.g. `ProvenanceClient.item_nonce`);
        without ``nonce_of`` such an item reads as None, for the caller to ask the chain.
        """
        key = _item_key(item_id)
        with self.snapshot() as conn:
            row = conn.execute(
                "SELECT items.owner, items.status, items.brand_certified, items.flagged_by_admin,"
                " items.locked, items.last_verdict, items.registrant, accounts.id,"
                " items.metadata_hash FROM items LEFT JOIN accounts"
                " ON accounts.address = items.registrant WHERE items.item_id = ?",
                (key,),
            ).fetchone()
            if row is None or row[1] is None or row[6] is None or row[7] is None:
                return None
            passports = [n for n, a in self._artifacts(conn).items() if a == PASSPORT_ARTIFACT]
            transfers = approvals = 0
            for event, args in conn.execute(
                "SELECT event, args FROM events WHERE item_id = ? AND event IN "
                f"('Transfer', 'Approval') AND contract IN ({', '.join('?' * len(passports))})",
                (key, *passports),
            ):
                if event == "Approval":
                    approvals += 1
                elif json.loads(args).get("from") != _ZERO_ADDRESS:
                    transfers += 1
        owner, status, certified, by_admin, locked, verdict, registrant, registrant_id, meta = row
        item = ItemId(bytes.fromhex(key[2:]))
        if approvals:
            if nonce_of is None:
                return None
            transfers = int(nonce_of(item))
        return (
            Item(
                item_id=item,
                owner=cast(ChecksumAddress, owner),
                status=ItemStatus[str(status).upper()],
                brand_certified=bool(certified),
                flagged_by_admin=bool(by_admin),
                locked=bool(locked),
                last_verdict=Verdict[str(verdict).upper()],
                registrant=cast(ChecksumAddress, registrant),
                registrant_id=int(registrant_id),
                transfer_nonce=transfers,
            ),
            None if meta is None else Hash32(bytes.fromhex(str(meta)[2:])),
        )

    def item_history(self, item_id: object) -> list[HistoryEvent] | None:
        """The item's history as `ledger.client.ProvenanceClient.history` returns it from the
        chain (the passport's item events and the resale markets', oldest first, built by the
        same `ledger.history.history_event`); None if the index has no registration for it."""
        key = _item_key(item_id)
        item = ItemId(bytes.fromhex(key[2:]))
        with self.snapshot() as conn:
            found = conn.execute(
                "SELECT 1 FROM items WHERE item_id = ? AND registrant IS NOT NULL", (key,)
            ).fetchone()
            if found is None:
                return None
            artifacts = self._artifacts(conn)
            rows = conn.execute(
                "SELECT block_number, block_hash, log_index, tx_hash, contract, event, args, "
                "timestamp FROM events WHERE item_id = ? UNION ALL "
                "SELECT block_number, block_hash, log_index, tx_hash, contract, event, args, "
                "timestamp FROM events WHERE other_item_id = ? ORDER BY block_number, log_index",
                (key, key),
            ).fetchall()
        history: list[HistoryEvent] = []
        for block, block_hash, log_index, tx_hash, contract, event, args, timestamp in rows:
            artifact = artifacts.get(contract)
            if event is None or artifact not in (PASSPORT_ARTIFACT, MARKET_ARTIFACT):
                continue
            entry = history_event(
                name=event,
                market=artifact == MARKET_ARTIFACT,
                item_id=item,
                args=json.loads(args),
                block_number=block,
                block_hash=block_hash,
                tx_hash=tx_hash,
                log_index=log_index,
                timestamp=timestamp,
            )
            if entry is not None:
                history.append(entry)
        return history

    def raw_logs(self, item_id: object) -> list[dict[str, Any]]:
        """Every log naming the item, raw and decoded, for evidence bundles.

        Each entry carries what a third party needs to check it against any node: chain id,
        contract address, block number and hash, transaction hash and index, log index, the raw
        topics and data, and the decoded fields.
        """
        key = _item_key(item_id)
        chain_id = self.meta().get("chain_id")
        logs: list[dict[str, Any]] = []
        for row in self._item_events(key):
            (block, block_hash, tx_index, log_index, tx_hash, contract, address, event, _item,
             _other, actor, args_json, data, topics, timestamp) = row  # fmt: skip
            logs.append(
                {
                    "chain_id": int(chain_id) if chain_id is not None else None,
                    "contract": contract,
                    "address": address,
                    "block_number": block,
                    "block_hash": block_hash,
                    "tx_hash": tx_hash,
                    "tx_index": tx_index,
                    "log_index": log_index,
                    "timestamp": timestamp,
                    "event": event,
                    "actor": actor,
                    "args": json.loads(args_json),
                    "topics": json.loads(topics),
                    "data": data,
                }
            )
        return logs

    # ------------------------------------------------------------------ accounts

    def account(self, address: str) -> dict[str, Any] | None:
        """The account's vetting record as the events tell it, or None if never vetted."""
        row = (
            self._conn()
            .execute(
                f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts WHERE address = ?",
                (_address_key(address, field="address"),),
            )
            .fetchone()
        )
        if row is None:
            return None
        account = dict(zip(_ACCOUNT_COLUMNS, row, strict=True))
        account["role_names"] = _role_names(int(account["roles"]))
        return account

    def fingerprint(self) -> str:
        """The same digest as `IndexStore.fingerprint`, from a read-only connection."""
        return _fingerprint(self._conn())
