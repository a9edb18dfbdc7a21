"""Domain types shared by the client, the CLI and the gateway.

The enums mirror `contracts/types/ProvenanceTypes.sol` value for value, so a decoded log or
call result converts with ``ItemStatus(value)``. Identifiers are ``NewType``s over the plain
Python types web3.py hands back, so mypy keeps an item id from being passed where a metadata
hash is expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import NewType

from eth_typing import ChecksumAddress

__all__ = [
    "Account",
    "AccountStatus",
    "ConditionGrade",
    "Hash32",
    "Item",
    "ItemId",
    "ItemStatus",
    "RetirementKind",
    "Role",
    "ServiceKind",
    "TxResult",
    "Verdict",
    "Wei",
]

ItemId = NewType("ItemId", bytes)
"""32-byte item id, also the ERC-721 token id (see `ledger.hashing.item_id`)."""

Hash32 = NewType("Hash32", bytes)
"""32-byte keccak256 digest of a document or file."""

Wei = NewType("Wei", int)


class Role(IntFlag):
    """Roles an account can be vetted for; a bitmask, as on chain (bit ``uint8(Role)``)."""

    MERCHANT = 1 << 0
    AUTHENTICATOR = 1 << 1
    ARBITER = 1 << 2
    BRAND = 1 << 3


class AccountStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REVOKED = 3


class ItemStatus(IntEnum):
    ACTIVE = 0
    LOST = 1
    STOLEN = 2
    RETIRED = 3


class Verdict(IntEnum):
    NONE = 0
    AUTHENTIC = 1
    COUNTERFEIT = 2
    INCONCLUSIVE = 3


class ConditionGrade(IntEnum):
    UNGRADED = 0
    NEW = 1
    LIKE_NEW = 2
    EXCELLENT = 3
    VERY_GOOD = 4
    GOOD = 5
    FAIR = 6
    POOR = 7


class ServiceKind(IntEnum):
    REPAIR = 0
    REFURBISHMENT = 1
    PART_REPLACEMENT = 2
    OTHER = 3


class RetirementKind(IntEnum):
    RECYCLED = 0
    DESTROYED = 1
    DISMANTLED = 2
    REMANUFACTURED = 3


@dataclass(frozen=True, slots=True)
class Account:
    """A vetted account's on-chain record."""

    address: ChecksumAddress
    id: int
    roles: Role
    status: AccountStatus
    vetted_at: int
    updated_at: int
    credential_hash: Hash32
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """An item passport's current on-chain state; its history is in events."""

    item_id: ItemId
    owner: ChecksumAddress
    status: ItemStatus
    brand_certified: bool
    flagged_by_admin: bool
    locked: bool
    last_verdict: Verdict
    registrant: ChecksumAddress
    registrant_id: int
    transfer_nonce: int


@dataclass(frozen=True, slots=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
