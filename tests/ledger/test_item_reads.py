"""`ItemReads`: the index when it is caught up, the chain otherwise, the same answers either way.

Built on the rich scenario of `tests/ledger/test_index_reads.py` (its own chain and index)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ItemNotRegistered
from ledger.hashing import item_id as label_item_id
from ledger.index_store import IndexReader
from ledger.reads import ItemReads
from ledger.types import ItemId
from tests.ledger.conftest import OwnChain
from tests.ledger.test_index_reads import ChainRead, chain_reads, world

__all__ = ["chain_reads", "world"]  # the shared module fixtures

World = tuple[OwnChain, dict[str, ItemId], IndexReader]


class _Spy:
    """Counts how often the reads asked for the index."""

    def __init__(self, index: IndexReader | None) -> None:
        self.index = index
        self.calls = 0

    def __call__(self) -> IndexReader | None:
        self.calls += 1
        return self.index


@pytest.mark.parametrize("name", ["rich", "disputed", "sold"])
def test_reads_from_the_index_equal_the_chains(
    world: World, chain_reads: dict[str, ChainRead], name: str
) -> None:
    chain, items, index = world
    fresh = _Spy(index)
    reads = ItemReads(chain=chain.client(), fresh_index=fresh)
    expected = chain_reads[name]
    assert reads.item_state(items[name]) == (expected.item, expected.metadata_hash)
    assert reads.history(items[name]) == expected.history
    assert reads.item_and_history(items[name]) == (expected.item, expected.history)
    assert fresh.calls == 3


def test_without_a_fresh_index_the_chain_answers(
    world: World, chain_reads: dict[str, ChainRead]
) -> None:
    chain, items, _ = world
    reads = ItemReads(chain=chain.client(), fresh_index=_Spy(None))
    expected = chain_reads["disputed"]
    assert reads.item_and_history(items["disputed"]) == (expected.item, expected.history)


def test_an_index_that_fails_is_passed_over_for_the_chain(
    world: World, chain_reads: dict[str, ChainRead], tmp_path: Path
) -> None:
    chain, items, _ = world
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database")
    with IndexReader(broken) as unreadable:
        reads = ItemReads(chain=chain.client(), fresh_index=lambda: unreadable)
        expected = chain_reads["sold"]
        assert reads.item_state(items["sold"]) == (expected.item, expected.metadata_hash)


def test_an_item_the_index_lacks_is_the_chains_item_not_registered(world: World) -> None:
    chain, _, index = world
    reads = ItemReads(chain=chain.client(), fresh_index=lambda: index)
    unknown = label_item_id(brand="Maison Test", serial="NEVER-REGISTERED")
    with pytest.raises(ItemNotRegistered):
        reads.history(unknown)
    with pytest.raises(ItemNotRegistered):
        reads.verify(item_id=unknown, metadata={})


def test_verify_compares_with_the_registered_hash_from_either_source(
    world: World, chain_reads: dict[str, ChainRead]
) -> None:
    chain, items, index = world
    for fresh in (lambda: index, lambda: None):
        reads = ItemReads(chain=chain.client(), fresh_index=fresh)
        verification = reads.verify(item_id=items["plain"], metadata={"not": "it"})
        assert verification.matches is False
        assert verification.registered_hash == chain_reads["plain"].metadata_hash
        assert verification.item == chain_reads["plain"].item
