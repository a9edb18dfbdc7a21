"""`ItemReads`: an item's state, history and metadata check, from the event index when it is
caught up, else from the chain.

Why this exists: the chain answers every read but slowly (an item's history is an ``eth_getLogs``
scan, seconds on eth-tester); the SQLite index (`ledger.index_store.IndexReader`) answers in
milliseconds with exactly the same objects (`ledger.types.Item`, `ledger.history.HistoryEvent`),
but it is a cache: it may be missing, lagging, mid-rebuild or broken. One rule for every reader
(the gateway's routes, the buyer's page, the trust report) keeps them consistent:

* the index is used only when ``fresh_index()`` returns it, i.e. it holds every block up to the
  chain head read just before (the gateway's `api.state.Gateway.fresh_index` catches it up
  first), so an index read is never staler than a chain read started at the same moment;
* any failure of an index read means "read the chain" (logged, never raised);
* an item the index does not have is asked of the chain, so `ItemNotRegistered` is always the
  chain's own answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ledger.client import ProvenanceClient, Verification
from ledger.history import HistoryEvent
from ledger.index_store import IndexReader
from ledger.types import Hash32, Item, ItemId

__all__ = ["ItemReads"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class ItemReads:
    """Item reads for one deployment: ``chain`` is a (read-only) `ProvenanceClient`;
    ``fresh_index`` returns the index when it is caught up to the chain's head, else None."""

    def __init__(
        self,
        *,
        chain: ProvenanceClient,
        fresh_index: Callable[[], IndexReader | None] = lambda: None,
    ) -> None:
        self.chain = chain
        self._fresh_index = fresh_index

    def _from_index(self, read: Callable[[IndexReader], T | None]) -> T | None:
        index = self._fresh_index()
        if index is None:
            return None
        try:
            return read(index)
        except Exception as exc:  # the index is a cache: any failure means "read the chain"
            log.warning("event index read failed, reading the chain: %s", exc)
            return None

    def item_state(self, item_id: ItemId) -> tuple[Item, Hash32 | None]:
        """The item and its current metadata hash (None if none was published)."""
        state = self._from_index(
            lambda index: index.item_state(item_id, nonce_of=self.chain.item_nonce)
        )
        if state is not None:
            return state
        item = self.chain.item(item_id)
        return item, self.chain.current_metadata_hash(item.item_id)

    def history(self, item_id: ItemId) -> list[HistoryEvent]:
        """Every event about the item, oldest first (`ProvenanceClient.history`)."""
        events = self._from_index(lambda index: index.item_history(item_id))
        if events is not None:
            return events
        item = self.chain.item(item_id)  # ItemNotRegistered, rather than an empty history
        return self.chain.history(item.item_id)

    def item_and_history(self, item_id: ItemId) -> tuple[Item, list[HistoryEvent]]:
        """The item and its history as of one moment (one indexer commit, when indexed), so
        that a verdict computed from the history speaks of that very item state."""

        def both(index: IndexReader) -> tuple[Item, list[HistoryEvent]] | None:
            with index.snapshot():
                state = index.item_state(item_id, nonce_of=self.chain.item_nonce)
                history = index.item_history(item_id)
            return None if state is None or history is None else (state[0], history)

        found = self._from_index(both)
        if found is not None:
            return found
        item = self.chain.item(item_id)
        return item, self.chain.history(item.item_id)

    def verify(self, *, item_id: ItemId, metadata: Mapping[str, Any]) -> Verification:
        """Whether ``metadata`` is the item's current metadata document
        (`ProvenanceClient.verify`)."""
        item, registered = self.item_state(item_id)
        return Verification.check(item=item, registered_hash=registered, metadata=metadata)
