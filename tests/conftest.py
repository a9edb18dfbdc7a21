"""Fixtures shared by every test package: an in-process chain, named dev accounts, a deployment.

Test directories carry an ``__init__.py`` so that modules are imported as ``tests.<pkg>.test_x``
and never shadow the real ``ledger``.

Speed: eth-tester mines ~40 transactions a second, so the chain is created once per session and
every test starts from a snapshot instead of from scratch:

* ``tester_provider`` / ``w3`` revert the session chain to genesis before each test, so a test
  sees an empty chain and nothing it does leaks into the next one;
* ``deployment`` reverts to a cached snapshot taken right after the first deployment and the
  vetting of the named accounts, so most tests pay no deployment cost at all.

Named accounts (eth-tester's ten funded dev keys, in this order) and their standing in
``deployment``: admin (platform admin), merchant (Merchant), brand (Brand), authenticator
(Authenticator), arbiter (Arbiter), owner and stranger (never vetted), suspended_merchant
(Merchant, suspended), revoked_merchant (Merchant, revoked).

Caveat when caching snapshots of your own: eth-tester indexes receipts by transaction hash, so
after reverting to a snapshot, a transaction that was also mined, byte for byte, on another
branch may report that branch's block hash. Cache states built from transactions no test sends.

Caveat for tests that scan logs or blocks by number: reverting *forwards* (to a snapshot higher
than the branch being left, e.g. from a test that mined from genesis back to ``deployment``)
leaves the abandoned branch's blocks answering the block numbers it reached: py-evm re-indexes
numbers only down to the first one whose stored hash already matches, and the snapshot's own
number still does. Logs of those blocks (often from a passport at the same address, since every
deployment by ``admin`` from genesis lands there) then show up in ``eth_getLogs``. Such modules
run on a chain of their own that only ever reverts backwards (``OwnChain`` in
tests/ledger/conftest.py).

These fixture names (``tester_provider``, ``w3``, ``accounts``, ``deployment``) are used by other
test packages: keep them stable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.chain import EmbeddedProvider, dev_accounts

if TYPE_CHECKING:
    from ledger.client import ProvenanceClient
    from ledger.deploy import Deployment

REPO_ROOT = Path(__file__).resolve().parent.parent

TEST_BASE_URI = "http://127.0.0.1:8000/items/"


@dataclass(frozen=True)
class DevAccounts:
    """The named test accounts; each is a `LocalAccount` that can sign."""

    admin: LocalAccount
    merchant: LocalAccount
    brand: LocalAccount
    authenticator: LocalAccount
    arbiter: LocalAccount
    owner: LocalAccount
    stranger: LocalAccount
    suspended_merchant: LocalAccount
    revoked_merchant: LocalAccount
    spare: LocalAccount

    def all(self) -> list[LocalAccount]:
        return [getattr(self, f.name) for f in fields(self)]


@dataclass
class _Session:
    provider: EmbeddedProvider
    genesis: int
    deployed: tuple[int, Any] | None = None  # (snapshot id, Deployment)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout under test (where ``contracts/``, ``node_modules/`` and ``ledger/`` live)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def _tester_session() -> _Session:
    provider = EmbeddedProvider()
    return _Session(provider=provider, genesis=provider.ethereum_tester.take_snapshot())


@pytest.fixture
def tester_provider(_tester_session: _Session) -> Iterator[EmbeddedProvider]:
    """The session's eth-tester provider, reverted to genesis (an empty chain) for this test."""
    _tester_session.provider.ethereum_tester.revert_to_snapshot(_tester_session.genesis)
    yield _tester_session.provider


@pytest.fixture
def w3(tester_provider: EmbeddedProvider) -> Web3:
    return Web3(tester_provider)


@pytest.fixture(scope="session")
def dev_keys(_tester_session: _Session) -> list[LocalAccount]:
    """eth-tester's ten funded dev accounts, in node order."""
    return dev_accounts(Web3(_tester_session.provider))


@pytest.fixture(scope="session")
def accounts(dev_keys: list[LocalAccount]) -> DevAccounts:
    names = [f.name for f in fields(DevAccounts)]
    return DevAccounts(**dict(zip(names, dev_keys, strict=True)))


def _vet_named_accounts(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> None:
    from ledger.client import ProvenanceClient
    from ledger.types import Role

    admin = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.admin)
    vetted = [
        (accounts.merchant, Role.MERCHANT, "Second Life Luxury"),
        (accounts.brand, Role.BRAND, "Maison Test"),
        (accounts.authenticator, Role.AUTHENTICATOR, "Authentic Lab"),
        (accounts.arbiter, Role.ARBITER, "Fair Resolutions"),
        (accounts.suspended_merchant, Role.MERCHANT, "Suspended Resale"),
        (accounts.revoked_merchant, Role.MERCHANT, "Revoked Resale"),
    ]
    for account, roles, name in vetted:
        admin.vet(
            account=account.address,
            roles=roles,
            credentials={"dossier": name, "checked": ["kyc", "premises"]},
            name=name,
        )
    admin.suspend(account=accounts.suspended_merchant.address, reason={"why": "late shipments"})
    admin.revoke(account=accounts.revoked_merchant.address, reason={"why": "sold counterfeits"})


@pytest.fixture
def deployment(w3: Web3, accounts: DevAccounts, _tester_session: _Session) -> Deployment:
    """An `ItemPassport` deployed by ``admin`` with the named accounts vetted (see module doc),
    and the `ResaleMarket` it names (`ledger.deploy` defaults: fee 250 bps to ``admin``)."""
    tester = _tester_session.provider.ethereum_tester
    if _tester_session.deployed is not None:
        snapshot, recorded = _tester_session.deployed
        tester.revert_to_snapshot(snapshot)
        result: Deployment = recorded
        return result
    from ledger.deploy import add_market, deploy

    result = deploy(w3=w3, admin=accounts.admin, base_uri=TEST_BASE_URI, with_market=False)
    _vet_named_accounts(w3, result, accounts)
    # The market comes after the vetting, not as `deploy` does it, so that its deployment and
    # `setMarket` are not byte for byte the transactions of a test's own `deploy(admin)` from
    # genesis (see the caveat in the module doc: eth-tester would mix up their logs).
    result = add_market(w3=w3, deployment=result, admin=accounts.admin)
    _tester_session.deployed = (tester.take_snapshot(), result)
    return result


@pytest.fixture
def passport(w3: Web3, deployment: Deployment) -> Any:
    """The deployed `ItemPassport` as a web3 contract object."""
    from ledger.artifacts import load_artifact

    return w3.eth.contract(address=deployment.passport, abi=load_artifact("ItemPassport")["abi"])


def _client(w3: Web3, deployment: Deployment, account: LocalAccount | None) -> ProvenanceClient:
    from ledger.client import ProvenanceClient

    return ProvenanceClient(w3=w3, deployment=deployment, account=account)


@pytest.fixture
def admin_client(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> ProvenanceClient:
    return _client(w3, deployment, accounts.admin)


@pytest.fixture
def merchant_client(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> ProvenanceClient:
    return _client(w3, deployment, accounts.merchant)


@pytest.fixture
def brand_client(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> ProvenanceClient:
    return _client(w3, deployment, accounts.brand)


@pytest.fixture
def authenticator_client(
    w3: Web3, deployment: Deployment, accounts: DevAccounts
) -> ProvenanceClient:
    return _client(w3, deployment, accounts.authenticator)


@pytest.fixture
def owner_client(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> ProvenanceClient:
    return _client(w3, deployment, accounts.owner)


@pytest.fixture
def stranger_client(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> ProvenanceClient:
    return _client(w3, deployment, accounts.stranger)


@pytest.fixture
def suspended_client(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> ProvenanceClient:
    return _client(w3, deployment, accounts.suspended_merchant)


@pytest.fixture
def revoked_client(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> ProvenanceClient:
    return _client(w3, deployment, accounts.revoked_merchant)


@pytest.fixture
def reader(w3: Web3, deployment: Deployment) -> ProvenanceClient:
    """A read-only client (no signing account)."""
    return _client(w3, deployment, None)
