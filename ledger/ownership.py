"""Ownership checks made before sending, where the contract's own error would mislead.

Why this exists: `ProvenanceClient.transfer` moves an item *from the signing account*. When that
account does not own the item, the ERC-721 layer reverts with ``TransferFromIncorrectOwner`` (a
`Conflict`), which reads as if the item had moved on, when the caller simply is not its owner.
Checking first turns that into the contract's own ``NotItemOwner`` (`AccessDenied`), which is
what a merchant acting on another merchant's item should hear. The chain still enforces it: the
check only chooses the error, it grants nothing.
"""

from __future__ import annotations

from ledger.client import ProvenanceClient, parse_item_id
from ledger.errors import ConfigurationError, NotItemOwner
from ledger.types import Item, ItemId

__all__ = ["require_owner"]


def require_owner(client: ProvenanceClient, item_id: ItemId) -> Item:
    """The item, if the client's signing account owns it; `NotItemOwner` otherwise."""
    caller = client.address
    if caller is None:
        raise ConfigurationError("this client is read-only: give it an account to sign with")
    item = client.item(parse_item_id(item_id))
    if item.owner != caller:
        raise NotItemOwner("NotItemOwner", {"itemId": item.item_id, "caller": caller})
    return item
