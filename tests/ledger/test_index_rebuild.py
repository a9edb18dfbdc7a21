"""`Indexer.rebuild` builds aside and swaps atomically: readers of the same file, open before
the rebuild, see the complete old index until the swap and the complete new one after it, never
an empty or partial one; a failed build leaves the live index as it was.

"Old" and "new" differ on purpose: the chain moves on between the live index's last poll and
the rebuild, so a reader can tell which one it sees.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ledger.client import ProvenanceClient
from ledger.deploy import Deployment
from ledger.index_store import BlockRef, IndexReader, IndexStore
from ledger.indexer import REBUILD_SUFFIX, Indexer
from ledger.types import ItemId
from tests.conftest import DevAccounts
from tests.ledger.test_indexer import (  # noqa: F401  (fixtures)
    _own_chain,
    deployment,
    index_path,
    make_indexer,
    rebuilt_fingerprint,
    tester_provider,
)

State = tuple[int, int | None, int, int]


def state(reader: IndexReader, item: ItemId) -> State:
    """Events stored, checkpoint, the item's history length and the item listing's length, all
    from one snapshot of the index."""
    with reader.snapshot() as conn:
        (events,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
        items, _ = reader.items(limit=1000)
        return int(events), reader.indexed_block, len(reader.history(item)), len(items)


def side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if REBUILD_SUFFIX in p.name)


def live_then_more(
    indexer: Indexer,
    reader: IndexReader,
    merchant_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    accounts: DevAccounts,
) -> tuple[ItemId, State]:
    """Index an item, then move the chain on (the item changes hands, a second item arrives)
    without polling: returns the item and the live index's state."""
    item = merchant_client.register(
        brand="Maison Test", serial="RB-1", metadata={}, owner=accounts.owner.address
    ).item_id
    indexer.poll_once()
    old = state(reader, item)
    assert old[0] > 0 and old[2] == 1 and old[3] == 1
    owner_client.transfer(item_id=item, to=accounts.stranger.address)
    merchant_client.register(brand="Maison Test", serial="RB-2", metadata={})
    return item, old


def test_readers_see_the_old_index_until_the_swap_then_the_new_one(
    w3: Web3,
    deployment: Deployment,  # noqa: F811
    index_path: Path,  # noqa: F811
    merchant_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    accounts: DevAccounts,
    rebuilt_fingerprint: Callable[[], str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watched: list[ItemId] = []
    seen_during_build: list[State] = []
    reader = IndexReader(index_path)

    def during_build(*_: Any) -> None:
        if watched:
            seen_during_build.append(state(reader, watched[0]))

    # Small chunks, so the side build commits many times while the live index is read.
    indexer = make_indexer(w3, deployment, index_path, chunk_blocks=2, on_chunk=during_build)
    with indexer, reader, IndexReader(index_path) as held, IndexReader(index_path) as polled:
        item, old = live_then_more(indexer, reader, merchant_client, owner_client, accounts)
        watched.append(item)
        inode = os.stat(index_path).st_ino

        seen_before_swap: list[State] = []
        replace_with = IndexStore.replace_with

        def swap(store: IndexStore, source: Path) -> None:
            seen_before_swap.append(state(reader, item))
            assert side_files(index_path), "the new index is built aside"
            replace_with(store, source)

        monkeypatch.setattr(IndexStore, "replace_with", swap)

        polled_states: set[State] = set()
        polled_last: list[State] = []
        stop = threading.Event()

        def poll() -> None:  # reads on one connection, opened before the rebuild, until after it
            while True:
                stopping = stop.is_set()
                polled_states.add(state(polled, item))
                if stopping:
                    polled_last.append(state(polled, item))
                    return

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            with held.snapshot():
                before = state(held, item)
                indexed = indexer.rebuild()
                # A read transaction open across the swap keeps its snapshot.
                assert state(held, item) == before == old
        finally:
            stop.set()
            poller.join()

        new = state(reader, item)
        assert new[0] == old[0] + 3  # Transfer; Transfer + ItemRegistered
        assert new[2] == 2 and new[3] == 2 and new[1] is not None and new[1] > (old[1] or 0)
        assert indexed == new[0]
        assert len(seen_during_build) > 2 and set(seen_during_build) == {old}
        assert seen_before_swap == [old]
        assert polled_states <= {old, new} and old in polled_states
        # Readers opened before the rebuild see the new index without reopening.
        assert state(held, item) == new and polled_last == [new]
        assert indexer.fingerprint() == reader.fingerprint() == rebuilt_fingerprint()
        assert os.stat(index_path).st_ino == inode
        assert side_files(index_path) == []
        with indexer.store._lock:
            assert indexer.store._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_failed_build_leaves_the_live_index_and_its_leftovers_go_next_time(
    w3: Web3,
    deployment: Deployment,  # noqa: F811
    index_path: Path,  # noqa: F811
    merchant_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    accounts: DevAccounts,
    rebuilt_fingerprint: Callable[[], str],  # noqa: F811
) -> None:
    armed = threading.Event()

    def crash(*_: Any) -> None:
        if armed.is_set():
            raise RuntimeError("injected crash in the side build")

    reader = IndexReader(index_path)
    indexer = make_indexer(w3, deployment, index_path, chunk_blocks=2, on_chunk=crash)
    with indexer, reader:
        item, old = live_then_more(indexer, reader, merchant_client, owner_client, accounts)
        fingerprint = indexer.fingerprint()
        armed.set()
        with pytest.raises(RuntimeError, match="injected"):
            indexer.rebuild()
        armed.clear()
        assert state(reader, item) == old
        assert indexer.fingerprint() == fingerprint
        assert side_files(index_path) == []

        # What a rebuild killed mid-build (kill -9) would leave behind: removed before building.
        side = index_path.with_name(index_path.name + REBUILD_SUFFIX)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{side}{suffix}").write_bytes(b"not an index")
        assert indexer.rebuild() == state(reader, item)[0]
        assert side_files(index_path) == []
        assert state(reader, item)[2] == 2
        assert indexer.fingerprint() == rebuilt_fingerprint()
        # The live indexer carries on from the swapped-in index.
        assert indexer.poll_once() == 0


def test_a_second_indexer_whose_chunk_straddles_the_swap_carries_on_from_the_new_index(
    w3: Web3,
    deployment: Deployment,  # noqa: F811
    index_path: Path,  # noqa: F811
    merchant_client: ProvenanceClient,
    rebuilt_fingerprint: Callable[[], str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The gateway's indexer thread and `provenance index --rebuild` in another process: two
    # `Indexer`s on one file. The gateway's chunk, fetched before the swap, must not land on
    # top of the rebuilt index.
    merchant_client.register(brand="Maison Test", serial="RB-3", metadata={})
    with (
        make_indexer(w3, deployment, index_path) as rebuilding,
        make_indexer(w3, deployment, index_path) as gateway,
    ):
        gateway.poll_once()
        merchant_client.register(brand="Maison Test", serial="RB-4", metadata={})
        fetch = gateway._fetch
        fetched: list[int] = []
        refused: list[BlockRef | None] = []

        def fetch_then_rebuild(start: int, end: int) -> Any:
            found = fetch(start, end)
            fetched.append(len(found[0]))
            if len(fetched) == 1:
                rebuilding.rebuild()
            return found

        commit = gateway.store.commit

        def spy_commit(events: Any, *, tip: BlockRef, expected: BlockRef | None, **kw: Any) -> int:
            try:
                return commit(events, tip=tip, expected=expected, **kw)
            except Exception:
                refused.append(expected)
                raise

        monkeypatch.setattr(gateway, "_fetch", fetch_then_rebuild)
        monkeypatch.setattr(gateway.store, "commit", spy_commit)
        assert gateway.poll_once() == 0  # its chunk was refused; the rebuild holds those events
        assert fetched == [2] and len(refused) == 1
        assert gateway.indexed_block == rebuilding.indexed_block
        assert gateway.fingerprint() == rebuilding.fingerprint() == rebuilt_fingerprint()
