"""The event indexer on eth-tester: derived rows match the chain, reads match `ledger.history`,
polls are idempotent, reorgs (snapshot/revert) leave exactly what a fresh rebuild gives.

The reference for every check is the chain itself: `ProvenanceClient.item` / `account_record`
for derived rows, `ProvenanceClient.history` for histories, and a second index built from
scratch for "nothing was lost or repeated" (same `Indexer.fingerprint`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import Wei

import ledger.index_store as index_store
from ledger.artifacts import available_artifacts, load_artifact
from ledger.chain import EmbeddedProvider
from ledger.client import NewItem, ProvenanceClient, Registration
from ledger.deploy import Deployment, deploy
from ledger.errors import ConfigurationError, InputError
from ledger.hashing import item_id
from ledger.index_store import BlockRef, StaleCheckpointError
from ledger.indexer import (
    SOLIDITY_ENUMS,
    Indexer,
    IndexMismatchError,
    IndexReader,
    LogDecoder,
    RawLog,
    ReorgTooDeepError,
    contracts_of,
    run_indexer_cli,
)
from ledger.types import ConditionGrade, ItemStatus, RetirementKind, Role, ServiceKind, Verdict
from tests.conftest import REPO_ROOT, TEST_BASE_URI, DevAccounts, _vet_named_accounts

EVIDENCE = {"report": "inspection.pdf"}


# ---------------------------------------------------------------------- a chain of our own
#
# The indexer reads blocks *by number*. The session chain of tests/conftest.py is shared with
# tests that mine on a bare genesis; reverting from such a branch to the (higher) deployment
# snapshot leaves eth-tester answering some low block numbers from the abandoned branch (its
# blocks no longer link by parent hash), which history-by-hash never notices but an indexer
# does. So this module runs on its own chain, with the same deployment and named accounts, and
# only ever reverts backwards.


@dataclass
class _OwnChain:
    provider: EmbeddedProvider
    deployment: Deployment
    snapshot: Any


@pytest.fixture(scope="module")
def _own_chain(accounts: DevAccounts) -> _OwnChain:
    provider = EmbeddedProvider()
    w3 = Web3(provider)
    deployment = deploy(w3=w3, admin=accounts.admin, base_uri=TEST_BASE_URI)
    _vet_named_accounts(w3, deployment, accounts)
    return _OwnChain(provider, deployment, provider.ethereum_tester.take_snapshot())


@pytest.fixture
def tester_provider(_own_chain: _OwnChain) -> EmbeddedProvider:
    """This module's chain, back at its deployment (overrides the shared session chain)."""
    _own_chain.provider.ethereum_tester.revert_to_snapshot(_own_chain.snapshot)
    return _own_chain.provider


@pytest.fixture
def deployment(tester_provider: EmbeddedProvider, _own_chain: _OwnChain) -> Deployment:
    return _own_chain.deployment


def make_indexer(w3: Web3, deployment: Deployment, path: Path, **options: Any) -> Indexer:
    return Indexer(
        w3=w3,
        contracts=contracts_of(deployment),
        db_path=path,
        start_block=deployment.block_number,
        **options,
    )


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "index.db"


@pytest.fixture
def indexer(w3: Web3, deployment: Deployment, index_path: Path) -> Iterator[Indexer]:
    with make_indexer(w3, deployment, index_path) as built:
        yield built


@pytest.fixture
def index_reader(index_path: Path) -> Iterator[IndexReader]:
    with IndexReader(index_path) as reader:
        yield reader


@pytest.fixture
def rebuilt_fingerprint(w3: Web3, deployment: Deployment, tmp_path: Path) -> Callable[[], str]:
    """Fingerprint of a brand-new index of the current chain (the "fresh rebuild")."""
    counter = iter(range(1000))

    def fingerprint() -> str:
        with make_indexer(w3, deployment, tmp_path / f"fresh-{next(counter)}.db") as fresh:
            fresh.poll_once()
            return fresh.fingerprint()

    return fingerprint


def eth_tester(w3: Web3) -> Any:
    return w3.provider.ethereum_tester  # type: ignore[attr-defined]


def client_for(client: ProvenanceClient, account: Any) -> ProvenanceClient:
    return ProvenanceClient(w3=client.w3, deployment=client.deployment, account=account)


# ---------------------------------------------------------------------- a lived-in chain


class World:
    """Items with every kind of event, and accounts through every status change."""

    def __init__(
        self,
        *,
        accounts: DevAccounts,
        admin: ProvenanceClient,
        merchant: ProvenanceClient,
        brand: ProvenanceClient,
        authenticator: ProvenanceClient,
        owner: ProvenanceClient,
    ) -> None:
        stranger = client_for(owner, accounts.stranger)
        self.a = merchant.register(
            brand="Maison Test",
            serial="WK45-0001",
            metadata={"model": "Weekender"},
            owner=accounts.owner.address,
            metadata_uri="ipfs://bafy-a",
        ).item_id
        authenticator.authenticate(
            item_id=self.a, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.LIKE_NEW,
            evidence=EVIDENCE,
        )  # fmt: skip
        merchant.record_service(item_id=self.a, kind=ServiceKind.REPAIR, evidence={"zip": 1})
        owner.transfer(item_id=self.a, to=accounts.stranger.address, sale_ref={"order": 1})
        stranger.flag(item_id=self.a, status=ItemStatus.STOLEN, report={"police": 1})
        stranger.clear_flag(item_id=self.a, clearance={"found": True})
        stranger.transfer(item_id=self.a, to=accounts.owner.address)
        admin.flag(item_id=self.a, status=ItemStatus.LOST, report={"admin": "lost"})

        self.b = brand.register(
            brand="Maison Test", serial="B-1", metadata={"v": 1}, owner=accounts.owner.address
        ).item_id
        merchant_b = client_for(owner, accounts.owner)
        brand.update_metadata(item_id=self.b, metadata={"v": 2}, metadata_uri="ipfs://b2")
        merchant_b.retire(item_id=self.b, kind=RetirementKind.REMANUFACTURED, evidence=EVIDENCE)
        self.c = brand.register_successor(
            predecessor_id=self.b, brand="Maison Test", serial="C-1", metadata={"from": "B-1"},
            owner=accounts.owner.address,
        ).item_id  # fmt: skip

        admin.amend(
            account=accounts.authenticator.address,
            roles=Role.AUTHENTICATOR | Role.ARBITER,
            credentials={"dossier": "v2"},
            name="Authentic Lab II",
        )
        admin.suspend(account=accounts.arbiter.address, reason={"why": "audit"})
        admin.reinstate(account=accounts.arbiter.address, reason={"why": "cleared"})
        admin.vet(
            account=accounts.revoked_merchant.address,
            roles=Role.MERCHANT,
            credentials={"dossier": "fresh"},
            name="Revoked Resale, again",
        )
        self.items = [self.a, self.b, self.c]


@pytest.fixture
def world(
    accounts: DevAccounts,
    admin_client: ProvenanceClient,
    merchant_client: ProvenanceClient,
    brand_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    owner_client: ProvenanceClient,
) -> World:
    return World(
        accounts=accounts,
        admin=admin_client,
        merchant=merchant_client,
        brand=brand_client,
        authenticator=authenticator_client,
        owner=owner_client,
    )


def assert_items_match_chain(reader: IndexReader, client: ProvenanceClient, ids: Any) -> None:
    for item in ids:
        on_chain = client.item(item)
        row = reader.item(item)
        assert row is not None, f"item 0x{bytes(item).hex()} missing from the index"
        assert row["owner"] == on_chain.owner
        assert row["registrant"] == on_chain.registrant
        assert row["status"] == on_chain.status.name.lower()
        assert row["brand_certified"] is on_chain.brand_certified
        assert row["flagged_by_admin"] is on_chain.flagged_by_admin
        assert row["locked"] is on_chain.locked
        assert row["last_verdict"] == on_chain.last_verdict.name.lower()
        expected_hash = client.current_metadata_hash(item)
        assert expected_hash is not None
        assert row["metadata_hash"] == "0x" + expected_hash.hex()


def assert_accounts_match_chain(
    reader: IndexReader, client: ProvenanceClient, accounts: DevAccounts
) -> None:
    for account in accounts.all():
        record = client.account_record(account.address)
        row = reader.account(account.address)
        if record.id == 0:
            assert row is None
            continue
        assert row is not None
        assert row["id"] == record.id
        assert row["name"] == record.name
        assert row["roles"] == int(record.roles)
        assert row["status"] == record.status.name.lower()
        assert row["credential_hash"] == "0x" + record.credential_hash.hex()
        assert row["vetted_at"] == record.vetted_at
        assert row["updated_at"] == record.updated_at


# ---------------------------------------------------------------------- following the chain


def test_derived_rows_match_the_chain(
    world: World,
    indexer: Indexer,
    index_reader: IndexReader,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    assert indexer.poll_once() > 0
    assert_items_match_chain(index_reader, reader, world.items)
    assert_accounts_match_chain(index_reader, reader, accounts)
    b, c = index_reader.item(world.b), index_reader.item(world.c)
    assert b is not None and c is not None
    assert b["successor_id"] == "0x" + world.c.hex()
    assert c["predecessor_id"] == "0x" + world.b.hex()
    a = index_reader.item(world.a)
    assert a is not None and a["metadata_uri"] == "ipfs://bafy-a"
    revoked_again = index_reader.account(accounts.revoked_merchant.address)
    assert revoked_again is not None and revoked_again["role_names"] == ["merchant"]


def test_history_equals_the_history_read_from_logs(
    world: World, indexer: Indexer, index_reader: IndexReader, reader: ProvenanceClient
) -> None:
    indexer.poll_once()
    for item in world.items:
        from_logs = [event.to_json() for event in reader.history(item)]
        assert from_logs, "the world should give every item a history"
        assert index_reader.history(item) == from_logs
        assert index_reader.history("0x" + item.hex().upper()) == from_logs  # any hex case
    unknown = item_id(brand="Maison Test", serial="NEVER")
    assert index_reader.history(unknown) == [] == [e.to_json() for e in reader.history(unknown)]
    assert index_reader.item(unknown) is None


def test_raw_logs_carry_what_a_third_party_needs_to_check_them(
    world: World, indexer: Indexer, index_reader: IndexReader, w3: Web3
) -> None:
    indexer.poll_once()
    logs = index_reader.raw_logs(world.a)
    assert logs[0]["event"] == "Transfer"  # the mint comes first, and evidence keeps it
    assert {entry["chain_id"] for entry in logs} == {w3.eth.chain_id}
    for entry in logs:
        receipt = w3.eth.get_transaction_receipt(entry["tx_hash"])
        on_chain = next(log for log in receipt["logs"] if log["logIndex"] == entry["log_index"])
        assert on_chain["blockHash"].to_0x_hex() == entry["block_hash"]
        assert [t.to_0x_hex() for t in on_chain["topics"]] == entry["topics"]
        assert on_chain["data"].to_0x_hex() == entry["data"]
        assert on_chain["address"] == entry["address"]


def test_polling_again_adds_nothing_and_a_restart_resumes(
    world: World, w3: Web3, deployment: Deployment, indexer: Indexer, index_path: Path,
    merchant_client: ProvenanceClient, rebuilt_fingerprint: Callable[[], str],
) -> None:  # fmt: skip
    first = indexer.poll_once()
    before = indexer.fingerprint()
    assert indexer.poll_once() == 0
    assert indexer.fingerprint() == before
    indexer.close()
    merchant_client.register(brand="Maison Test", serial="LATE-1", metadata={})
    with make_indexer(w3, deployment, index_path) as again:
        assert again.indexed_block is not None
        assert again.poll_once() == 2  # Transfer + ItemRegistered, nothing repeated
        assert again.store.counts()["events"] == first + 2
        assert again.fingerprint() == rebuilt_fingerprint()


def test_rebuild_reproduces_the_same_index(world: World, indexer: Indexer) -> None:
    indexer.poll_once()
    before = indexer.fingerprint()
    assert indexer.rebuild() > 0
    assert indexer.fingerprint() == before
    with IndexReader(indexer.db_path) as reader:
        assert reader.fingerprint() == before


def test_items_are_paginated_by_id_and_filtered(
    indexer: Indexer,
    index_reader: IndexReader,
    merchant_client: ProvenanceClient,
    brand_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    merchant_client.register_batch(
        items=[NewItem(brand="Maison Test", serial=f"P-{n}", metadata={"n": n}) for n in range(23)],
        owner=accounts.owner.address,
    )
    brand_client.register_batch(
        items=[NewItem(brand="Maison Test", serial=f"Q-{n}", metadata={"n": n}) for n in range(4)]
    )
    flagged = item_id(brand="Maison Test", serial="P-3")
    owner_client.flag(item_id=flagged, status=ItemStatus.LOST, report={"lost": 1})
    indexer.poll_once()

    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        page, cursor = index_reader.items(limit=10, cursor=cursor)
        pages.append(page)
        if cursor is None:
            break
    assert [len(p) for p in pages] == [10, 10, 7]
    ids = [row["item_id"] for page in pages for row in page]
    assert ids == sorted(ids) and len(set(ids)) == 27

    owned, nxt = index_reader.items(owner=accounts.owner.address.lower(), limit=100)
    assert len(owned) == 23 and nxt is None
    by_brand, _ = index_reader.items(registrant=accounts.brand.address, limit=100)
    assert len(by_brand) == 4 and all(row["brand_certified"] for row in by_brand)
    lost, _ = index_reader.items(status=ItemStatus.LOST)
    assert [row["item_id"] for row in lost] == ["0x" + flagged.hex()]
    assert index_reader.items(status="stolen") == ([], None)
    with pytest.raises(InputError):
        index_reader.items(limit=0)
    with pytest.raises(InputError):
        index_reader.items(owner="not an address")


def test_a_background_thread_follows_new_blocks(
    indexer: Indexer, index_reader: IndexReader, registered: Registration
) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop, 0.02), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while index_reader.item(registered.item_id) is None:
            assert time.monotonic() < deadline, "the indexer thread did not catch up"
            time.sleep(0.02)
        assert indexer.lag() == 0
        assert indexer.status()["last_error"] is None
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_readers_in_many_threads_see_whole_chunks(
    world: World, indexer: Indexer, index_reader: IndexReader
) -> None:
    indexer.poll_once()
    expected = {item: index_reader.history(item) for item in world.items}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: (i, index_reader.history(i)), world.items * 10))
    assert all(history == expected[item] for item, history in results)


def test_a_reader_without_an_index_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="provenance index"):
        IndexReader(tmp_path / "missing.db").item(b"\x01" * 32)


# ---------------------------------------------------------------------- exactly once


def test_a_crash_inside_a_commit_leaves_nothing_half_written(
    world: World,
    indexer: Indexer,
    monkeypatch: pytest.MonkeyPatch,
    rebuilt_fingerprint: Callable[[], str],
) -> None:
    def crash(self: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(index_store._Derivation, "flush", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        indexer.poll_once()
    assert indexer.store.checkpoint() is None
    assert indexer.store.counts() == {"events": 0, "items": 0, "accounts": 0}
    monkeypatch.undo()
    assert indexer.poll_once() > 0
    assert indexer.fingerprint() == rebuilt_fingerprint()


def test_a_chunk_commits_only_on_the_checkpoint_it_was_fetched_from(
    registered: Registration, indexer: Indexer
) -> None:
    indexer.poll_once()
    checkpoint = indexer.store.checkpoint()
    assert checkpoint is not None
    tip = BlockRef(number=checkpoint.number + 1, hash="0x" + "ab" * 32)
    with pytest.raises(StaleCheckpointError):
        indexer.store.commit([], tip=tip, expected=None)
    assert indexer.store.checkpoint() == checkpoint
    old = RawLog(
        block_number=checkpoint.number, block_hash=checkpoint.hash, tx_index=0,
        tx_hash="0x" + "cd" * 32, log_index=99, address=indexer.contracts["passport"],
        topics=("0x" + "00" * 32,), data="0x",
    )  # fmt: skip
    with pytest.raises(InputError, match="outside"):
        indexer.ingest([old], blocks={old.block_number: checkpoint}, tip=tip)


def test_an_index_of_other_contracts_is_refused(
    w3: Web3, deployment: Deployment, indexer: Indexer, index_path: Path
) -> None:
    indexer.poll_once()
    indexer.close()
    other = Indexer(
        w3=w3,
        contracts={"passport": deployment.admin},
        db_path=index_path,
        start_block=deployment.block_number,
    )
    with other, pytest.raises(IndexMismatchError, match="--rebuild"):
        other.poll_once()


# ---------------------------------------------------------------------- reorgs


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_a_reorg_leaves_what_a_fresh_rebuild_gives(
    depth: int,
    w3: Web3,
    indexer: Indexer,
    index_reader: IndexReader,
    registered: Registration,
    merchant_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    accounts: DevAccounts,
    rebuilt_fingerprint: Callable[[], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = registered.item_id
    indexer.poll_once()
    snapshot = eth_tester(w3).take_snapshot()
    # The old branch: `depth` blocks, one moving an item indexed before the fork.
    owner_client.transfer(item_id=item, to=accounts.stranger.address, sale_ref={"old": 1})
    for n in range(depth - 1):
        merchant_client.register(brand="Maison Test", serial=f"OLD-{n}", metadata={"n": n})
    indexer.poll_once()
    assert index_reader.item(item)["owner"] == accounts.stranger.address  # type: ignore[index]

    eth_tester(w3).revert_to_snapshot(snapshot)
    # The new branch: shorter for odd depths (even empty), longer for even ones.
    new_length = depth - 1 if depth % 2 else depth + 1
    if new_length:
        owner_client.flag(item_id=item, status=ItemStatus.STOLEN, report={"new": 1})
    for n in range(new_length - 1):
        merchant_client.register(brand="Maison Test", serial=f"NEW-{n}", metadata={"n": n})

    indexer.poll_once()
    assert "chain reorganised" in caplog.text
    assert indexer.indexed_block == w3.eth.block_number
    assert indexer.fingerprint() == rebuilt_fingerprint()
    row = index_reader.item(item)
    assert row is not None and row["owner"] == accounts.owner.address
    assert row["status"] == ("stolen" if new_length else "active")
    assert index_reader.item(item_id(brand="Maison Test", serial="OLD-0")) is None
    assert index_reader.history(item) == [e.to_json() for e in merchant_client.history(item)]


def test_a_reorg_after_polling_every_block_unwinds_to_the_fork(
    w3: Web3,
    indexer: Indexer,
    merchant_client: ProvenanceClient,
    admin_client: ProvenanceClient,
    accounts: DevAccounts,
    rebuilt_fingerprint: Callable[[], str],
) -> None:
    indexer.poll_once()
    snapshot = eth_tester(w3).take_snapshot()
    for n in range(3):
        merchant_client.register(brand="Maison Test", serial=f"OLD-{n}", metadata={"n": n})
        indexer.poll_once()
    admin_client.suspend(account=accounts.merchant.address, reason={"old": 1})
    indexer.poll_once()
    eth_tester(w3).revert_to_snapshot(snapshot)
    admin_client.suspend(account=accounts.brand.address, reason={"new": 1})
    merchant_client.register(brand="Maison Test", serial="NEW-0", metadata={})
    indexer.poll_once()
    assert indexer.fingerprint() == rebuilt_fingerprint()
    with IndexReader(indexer.db_path) as reader:
        merchant = reader.account(accounts.merchant.address)
        brand = reader.account(accounts.brand.address)
        assert merchant is not None and merchant["status"] == "active"
        assert brand is not None and brand["status"] == "suspended"


def test_a_reorg_deeper_than_the_limit_asks_for_a_rebuild(
    w3: Web3, deployment: Deployment, index_path: Path, merchant_client: ProvenanceClient
) -> None:
    with make_indexer(w3, deployment, index_path, reorg_limit=2) as indexer:
        indexer.poll_once()
        snapshot = eth_tester(w3).take_snapshot()
        for n in range(5):
            merchant_client.register(brand="Maison Test", serial=f"OLD-{n}", metadata={})
            indexer.poll_once()
        eth_tester(w3).revert_to_snapshot(snapshot)
        for n in range(6):
            merchant_client.register(brand="Maison Test", serial=f"NEW-{n}", metadata={})
        with pytest.raises(ReorgTooDeepError, match="--rebuild"):
            indexer.poll_once()
        assert indexer.rebuild() > 0
        assert index_reader_has(indexer, item_id(brand="Maison Test", serial="NEW-5"))


def index_reader_has(indexer: Indexer, item: bytes) -> bool:
    with IndexReader(indexer.db_path) as reader:
        return reader.item(item) is not None


def test_confirmations_keep_the_index_behind_the_head(
    w3: Web3, deployment: Deployment, index_path: Path, merchant_client: ProvenanceClient
) -> None:
    with make_indexer(w3, deployment, index_path, confirmations=2) as indexer:
        merchant_client.register(brand="Maison Test", serial="CONF-1", metadata={})
        indexer.poll_once()
        assert indexer.indexed_block == w3.eth.block_number - 2
        assert indexer.lag() == 2


# ---------------------------------------------------------------------- other contracts


def test_market_events_are_followed_generically(
    w3: Web3,
    deployment: Deployment,
    index_path: Path,
    accounts: DevAccounts,
    admin_client: ProvenanceClient,
    merchant_client: ProvenanceClient,
) -> None:
    if "ResaleMarket" not in available_artifacts():
        pytest.skip("no ResaleMarket artifact in this build")
    artifact = load_artifact("ResaleMarket")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    day = 24 * 3600
    tx = factory.constructor(
        deployment.passport, accounts.spare.address, 250, 14 * day, 3 * day, 7 * day
    ).transact({"from": accounts.admin.address, "gas": 10_000_000})
    market_address = w3.eth.get_transaction_receipt(tx)["contractAddress"]
    assert market_address is not None
    market = w3.eth.contract(address=market_address, abi=artifact["abi"])
    admin_client.passport.functions.setMarket(market_address).transact(
        {"from": accounts.admin.address}
    )
    item = merchant_client.register(brand="Maison Test", serial="MKT-1", metadata={}).item_id
    price = 10**18
    expiry = w3.eth.get_block("latest")["timestamp"] + day
    market.functions.list(item, price, expiry).transact({"from": accounts.merchant.address})
    market.functions.buy(1).transact({"from": accounts.owner.address, "value": Wei(price)})
    market.functions.markShipped(1, b"\x11" * 32).transact({"from": accounts.merchant.address})
    market.functions.confirmDelivery(1).transact({"from": accounts.owner.address})

    contracts = {"passport": deployment.passport, "market": market_address}
    with Indexer(
        w3=w3, contracts=contracts, db_path=index_path, start_block=deployment.block_number
    ) as indexer:
        indexer.poll_once()
    with IndexReader(index_path) as reader:
        row = reader.item(item)
        assert row is not None and row["owner"] == accounts.owner.address
        assert row["locked"] is False
        assert reader.history(item) == [e.to_json() for e in merchant_client.history(item)]
        kinds = [event["kind"] for event in reader.history(item, all_events=True)]
        assert {"listed", "purchased", "shipped", "sale_settled", "locked", "unlocked"} <= set(
            kinds
        )
        settled = [e for e in reader.raw_logs(item) if e["event"] == "SaleSettled"]
        assert settled[0]["contract"] == "market"
        assert settled[0]["args"]["how"] == "confirmed"
        assert settled[0]["actor"] == accounts.owner.address


def test_every_event_enum_has_its_solidity_member_names() -> None:
    declared: dict[str, list[str]] = {}
    for source in (REPO_ROOT / "contracts" / "types").glob("*.sol"):
        text = re.sub(r"//[^\n]*", "", source.read_text())
        for name, body in re.findall(r"enum\s+(\w+)\s*\{([^}]*)\}", text):
            declared[name] = [m.strip() for m in body.split(",") if m.strip()]
    used = {
        entry["internalType"].removeprefix("enum ").split(".")[-1]
        for name in available_artifacts()
        for event in load_artifact(name)["abi"]
        if event.get("type") == "event"
        for entry in event["inputs"]
        if str(entry.get("internalType", "")).startswith("enum ")
    }
    assert used, "the ABIs should use enums in events"
    for enum in used:
        snake = [re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", m).lower() for m in declared[enum]]
        assert list(SOLIDITY_ENUMS[enum]) == snake, enum


# ---------------------------------------------------------------------- the CLI entry


def test_run_indexer_cli_catches_up_and_rebuilds(
    w3: Web3,
    deployment: Deployment,
    registered: Registration,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_indexer_cli(w3=w3, deployment=deployment, data_dir=tmp_path, rebuild=False, follow=False)
    out = capsys.readouterr().out
    assert out.startswith("indexed ") and "1 items" in out
    run_indexer_cli(w3=w3, deployment=deployment, data_dir=tmp_path, rebuild=True, follow=False)
    assert capsys.readouterr().out.startswith("rebuilt ")
    with IndexReader(tmp_path / "index.db") as reader:
        assert reader.item(registered.item_id) is not None


def test_the_fast_decoder_agrees_with_web3(world: World, w3: Web3, passport: Any) -> None:
    decoder = LogDecoder({"passport": (passport.address, passport.abi)})
    by_topic = {
        "0x" + event_abi_to_log_topic(entry).hex(): entry
        for entry in passport.abi
        if entry.get("type") == "event"
    }
    logs = w3.eth.get_logs({"address": passport.address, "fromBlock": 0, "toBlock": "latest"})
    names = set()
    for entry in logs:
        decoded = decoder.decode(RawLog.from_receipt(entry), timestamp=0)
        abi = by_topic[HexBytes(entry["topics"][0]).to_0x_hex()]
        reference = passport.events[abi["name"]]().process_log(entry)["args"]
        expected = {}
        for spec in abi["inputs"]:
            value = reference[spec["name"]]
            enum = str(spec.get("internalType", "")).removeprefix("enum ")
            if enum in SOLIDITY_ENUMS:
                value = SOLIDITY_ENUMS[enum][value]
            elif isinstance(value, bytes):
                value = "0x" + value.hex()
            expected[spec["name"]] = value
        assert decoded.event == abi["name"]
        assert dict(decoded.args) == expected
        names.add(abi["name"])
    assert {"ItemRegistered", "MetadataUpdated", "ItemFlagged", "AccountVetted"} <= names


# ---------------------------------------------------------------------- the benchmark


def test_the_history_benchmark_reports_every_figure(tmp_path: Path) -> None:
    script = REPO_ROOT / "scripts" / "bench_history.py"
    result = subprocess.run(
        [sys.executable, str(script), "--events", "3000", "--items", "300", "--reads", "50",
         "--no-anvil", "--api-items", "3", "--api-reads", "3"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    index = report["synthetic_index"]
    assert index["events"] >= 3000 and index["items"] == 300
    assert index["catch_up"]["events_per_second"] > 0
    assert {"p50_ms", "p99_ms", "cpu_p99_ms"} <= set(index["history_read"])
    assert index["max_rss_mb"] > 0
    assert report["node_comparison"] is None
    api = report["api_on_eth_tester"]
    for read in ("item_via_index", "history_via_index", "item_via_chain", "history_via_chain"):
        assert api[read]["reads"] == 3 and api[read]["p99_ms"] > 0
    assert set(report["meets_targets"]) == set(report["targets"])


def test_a_node_refusing_big_ranges_gets_smaller_ones(
    w3: Web3,
    deployment: Deployment,
    index_path: Path,
    merchant_client: ProvenanceClient,
    monkeypatch: pytest.MonkeyPatch,
    rebuilt_fingerprint: Callable[[], str],
) -> None:
    for n in range(6):
        merchant_client.register(brand="Maison Test", serial=f"RANGE-{n}", metadata={})
    real_get_logs = w3.eth.get_logs
    ranges: list[int] = []

    def get_logs(params: Any) -> Any:
        span = int(params["toBlock"]) - int(params["fromBlock"]) + 1
        ranges.append(span)
        if span > 3:
            raise Web3RPCError("query returned more than 10000 results")
        return real_get_logs(params)

    monkeypatch.setattr(w3.eth, "get_logs", get_logs)
    with make_indexer(w3, deployment, index_path, chunk_blocks=64) as indexer:
        assert indexer.poll_once() >= 12
        assert indexer.indexed_block == w3.eth.block_number
    assert ranges[0] > 3 and min(ranges) <= 3  # refused, then halved down to what passes
    monkeypatch.undo()
    with make_indexer(w3, deployment, index_path) as indexer:
        assert indexer.fingerprint() == rebuilt_fingerprint()
