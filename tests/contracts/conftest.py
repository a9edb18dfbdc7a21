"""Fixtures for contract-level tests: `ItemPassport` driven through its raw ABI on eth-tester.

The ``passport`` fixture deploys the contract straight from the artifact (no `ledger.deploy`, no
client: these tests pin down the contract itself), then builds the world every test starts from:

* vetted: merchant (Merchant), brand (Brand), authenticator (Authenticator), arbiter (Arbiter);
  suspended_merchant (Merchant, vetted then suspended); revoked_merchant (Merchant, vetted then
  revoked); admin, owner, stranger and spare never vetted;
* items, all owned by ``owner`` (see `Items`): ``active`` and ``flagged`` (reported lost by the
  owner) and ``retired`` (retired by the owner), registered by merchant; ``certified``, by brand;
* the arbiter holds `EXTRA_ROLE`, an AccessControl role with no meaning in the contract, so that
  ``grantRole`` / ``revokeRole`` have something to act on.

Setup runs once per test module; an eth-tester snapshot taken right after it is restored before
every test, so each test starts from exactly that state at the cost of one revert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import pytest
from eth_utils import keccak
from web3 import Web3
from web3.contract.contract import Contract

from ledger.artifacts import load_artifact
from ledger.hashing import hash_document, item_id
from ledger.types import ItemStatus, RetirementKind, Role
from tests.contracts.helpers import send

if TYPE_CHECKING:
    from tests.conftest import DevAccounts

BASE_URI = "http://127.0.0.1:8000/items/"
DEPLOY_GAS = 10_000_000
DEFAULT_ADMIN_ROLE = b"\x00" * 32
EXTRA_ROLE = keccak(text="provenance.tests.EXTRA_ROLE")
METADATA_HASH = hash_document({"brand": "Maison Test", "model": "Weekender 45"})
EVIDENCE_HASH = hash_document({"evidence": "report.pdf"})


@cache
def passport_abi() -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = load_artifact("ItemPassport")["abi"]
    return abi


@dataclass(frozen=True)
class Items:
    """Item ids registered by the fixture, and fresh ids that are free to register."""

    active: bytes
    """Registered by merchant, owned by owner, in circulation."""
    flagged: bytes
    """Registered by merchant, owned by owner, reported lost by the owner."""
    retired: bytes
    """Registered by merchant, owned by owner, retired by the owner (Remanufactured)."""
    certified: bytes
    """Registered by brand (brand-certified), owned by owner."""
    fresh: tuple[bytes, ...] = field(
        default=tuple(item_id(brand="Maison Test", serial=f"NEW-{n}") for n in range(4))
    )
    """Not registered; for tests that register."""


def vetting_args(name: str, roles: int) -> tuple[int, bytes, str, bytes]:
    """``(roles, credentialHash, name, reasonHash)`` for `vet` / `amend`."""
    return (
        int(roles),  # a Python 3.11 IntFlag is iterable, which web3's encoder mistakes for an array
        hash_document({"dossier": name, "checked": ["kyc", "premises"]}),
        name,
        hash_document({"decision": f"vet {name}"}),
    )


@dataclass
class _ModuleChain:
    snapshot: int | None = None
    contract: Contract | None = None
    items: Items | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def _module_chain() -> _ModuleChain:
    return _ModuleChain()


def _build(w3: Web3, accounts: DevAccounts) -> tuple[Contract, Items]:
    artifact = load_artifact("ItemPassport")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    constructor = factory.constructor(accounts.admin.address, 0, BASE_URI)
    receipt = send(constructor, accounts.admin, gas=DEPLOY_GAS)  # type: ignore[arg-type]
    address = receipt["contractAddress"]
    assert address is not None
    passport = w3.eth.contract(address=address, abi=passport_abi())
    fn = passport.functions
    admin = accounts.admin
    vetted = [
        (accounts.merchant, Role.MERCHANT, "Second Life Luxury"),
        (accounts.brand, Role.BRAND, "Maison Test"),
        (accounts.authenticator, Role.AUTHENTICATOR, "Authentic Lab"),
        (accounts.arbiter, Role.ARBITER, "Fair Resolutions"),
        (accounts.suspended_merchant, Role.MERCHANT, "Suspended Resale"),
        (accounts.revoked_merchant, Role.MERCHANT, "Revoked Resale"),
    ]
    for account, roles, name in vetted:
        send(fn.vet(account.address, *vetting_args(name, roles)), admin)
    reason = hash_document({"why": "test setup"})
    send(fn.suspend(accounts.suspended_merchant.address, reason), admin)
    send(fn.revoke(accounts.revoked_merchant.address, reason), admin)

    items = Items(
        active=item_id(brand="Maison Test", serial="ACTIVE-1"),
        flagged=item_id(brand="Maison Test", serial="FLAGGED-1"),
        retired=item_id(brand="Maison Test", serial="RETIRED-1"),
        certified=item_id(brand="Maison Test", serial="CERTIFIED-1"),
    )
    owner = accounts.owner.address
    for item in (items.active, items.flagged, items.retired):
        send(fn.register(item, METADATA_HASH, "ipfs://metadata", owner), accounts.merchant)
    send(fn.register(items.certified, METADATA_HASH, "", owner), accounts.brand)
    send(fn.flag(items.flagged, ItemStatus.LOST, EVIDENCE_HASH), accounts.owner)
    send(fn.retire(items.retired, RetirementKind.REMANUFACTURED, EVIDENCE_HASH), accounts.owner)
    send(fn.grantRole(EXTRA_ROLE, accounts.arbiter.address), admin)
    return passport, items


@pytest.fixture
def passport(w3: Web3, accounts: DevAccounts, _module_chain: _ModuleChain) -> Contract:
    """A deployed, populated `ItemPassport` (see the module doc), fresh for every test."""
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    chain = _module_chain
    if (
        chain.snapshot is None
        or chain.contract is None
        or chain.contract.w3.provider is not w3.provider
    ):
        chain.contract, chain.items = _build(w3, accounts)
        # An empty block on top: reverting re-imports the snapshot's block, and an empty one
        # imports in a fifth of the time of one holding a transaction.
        tester.mine_blocks(1)
        chain.snapshot = tester.take_snapshot()
    else:
        tester.revert_to_snapshot(chain.snapshot)
    # Reused across the module's tests (building a contract object from this ABI costs more than
    # most of the tests); it is bound to the same provider as ``w3``.
    return chain.contract


@pytest.fixture
def items(passport: Contract, _module_chain: _ModuleChain) -> Items:
    assert _module_chain.items is not None
    return _module_chain.items


@pytest.fixture
def module_cache(passport: Contract, _module_chain: _ModuleChain) -> dict[str, Any]:
    """Per-module storage for values computed once from the fixture's starting state."""
    return _module_chain.extra
