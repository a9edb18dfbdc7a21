"""`ProvenanceClient`, `TransactionSender`, deployment records and connections, on eth-tester."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ledger import errors, tx
from ledger.chain import EmbeddedProvider, connect, dev_accounts
from ledger.client import NewItem, ProvenanceClient, Registration
from ledger.deploy import (
    Deployment,
    deploy,
    load_deployment,
    load_or_deploy,
    save_deployment,
)
from ledger.hashing import hash_document, item_id
from ledger.tx import TransactionSender
from ledger.types import (
    AccountStatus,
    ConditionGrade,
    ItemStatus,
    RetirementKind,
    Role,
    ServiceKind,
    Verdict,
)
from tests.conftest import TEST_BASE_URI, DevAccounts
from tests.ledger.conftest import METADATA

EVIDENCE = {"report": "inspection.pdf", "sha256": "ab" * 32}


def _unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _item(serial: str) -> NewItem:
    return NewItem(brand="Maison Test", serial=serial, metadata={"serial": serial})


# ---------------------------------------------------------------------- connections


def test_embedded_chain_connects_with_funded_dev_accounts() -> None:
    with connect(target="embedded") as connection:
        assert connection.node is None
        assert connection.embedded
        assert connection.w3.eth.chain_id > 0
        keys = dev_accounts(connection.w3)
        assert [k.address for k in keys] == connection.w3.eth.accounts
        assert connection.w3.eth.get_balance(keys[0].address) > 10**18


def test_unreachable_node_url_raises_chain_unavailable() -> None:
    url = f"http://127.0.0.1:{_unused_port()}"
    with pytest.raises(errors.ChainUnavailableError, match="no Ethereum JSON-RPC node answers"):
        connect(target=url)


def test_unknown_chain_target_is_an_input_error() -> None:
    with pytest.raises(errors.InputError) as caught:
        connect(target="mainnet-please")
    assert caught.value.field == "target"


# ---------------------------------------------------------------------- deployment records


def test_deployment_is_recorded_and_read_back(deployment: Deployment, tmp_path: Path) -> None:
    path = tmp_path / "state" / "deployment.json"
    save_deployment(deployment=deployment, path=path)
    assert load_deployment(path=path) == deployment
    assert json.loads(path.read_text())["passport"] == deployment.passport
    assert [p.name for p in path.parent.iterdir()] == ["deployment.json"]  # no temp file left


def test_missing_or_corrupt_deployment_record_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigurationError, match="no deployment recorded"):
        load_deployment(path=tmp_path / "absent.json")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"chain_id": 1, "passport": "0x12"')
    with pytest.raises(errors.ConfigurationError, match="not valid JSON"):
        load_deployment(path=corrupt)
    corrupt.write_text(json.dumps({"chain_id": 1, "passport": "0x12"}))
    with pytest.raises(errors.ConfigurationError, match="lacks"):
        load_deployment(path=corrupt)


def test_load_or_deploy_reuses_a_live_deployment_and_replaces_a_stale_one(
    w3: Web3, accounts: DevAccounts, tmp_path: Path
) -> None:
    path = tmp_path / "deployment.json"
    first, fresh = load_or_deploy(w3=w3, path=path, admin=accounts.admin)
    assert fresh
    assert load_deployment(path=path) == first
    again, fresh = load_or_deploy(w3=w3, path=path, admin=accounts.admin)
    assert (again, fresh) == (first, False)

    other_chain = Deployment(**{**first.__dict__, "chain_id": first.chain_id + 1})
    save_deployment(deployment=other_chain, path=path)
    replaced, fresh = load_or_deploy(w3=w3, path=path, admin=accounts.admin)
    assert fresh
    assert replaced.passport != first.passport

    no_code = Deployment(**{**first.__dict__, "passport": accounts.stranger.address})
    save_deployment(deployment=no_code, path=path)
    _, fresh = load_or_deploy(w3=w3, path=path, admin=accounts.admin)
    assert fresh


def test_deploy_makes_the_admin_the_platform_admin(w3: Web3, accounts: DevAccounts) -> None:
    deployment = deploy(w3=w3, admin=accounts.stranger, base_uri=TEST_BASE_URI)
    assert deployment.admin == accounts.stranger.address
    assert deployment.chain_id == w3.eth.chain_id
    reader = ProvenanceClient(w3=w3, deployment=deployment)
    assert reader.is_admin(accounts.stranger.address)
    assert not reader.is_admin(accounts.admin.address)


# ---------------------------------------------------------------------- register and verify


def test_registered_item_verifies_against_its_metadata(
    registered: Registration, reader: ProvenanceClient, accounts: DevAccounts
) -> None:
    assert registered.item_id == item_id(brand="Maison Test", serial="WK45-0001")
    assert registered.metadata_hash == hash_document(METADATA)
    assert registered.tx.tx_hash.startswith("0x") and registered.tx.gas_used > 0

    item = reader.item_by_label(brand="  maison TEST", serial="wk45 0001")
    assert item.owner == accounts.owner.address
    assert item.registrant == accounts.merchant.address
    assert item.status is ItemStatus.ACTIVE
    assert not item.brand_certified

    verification = reader.verify(
        item_id=registered.item_id, metadata=dict(reversed(METADATA.items()))
    )
    assert verification.matches
    assert verification.registered_hash == verification.given_hash == registered.metadata_hash
    assert not reader.verify(
        item_id=registered.item_id, metadata={**METADATA, "colour": "red"}
    ).matches


def test_owner_defaults_to_the_sender(merchant_client: ProvenanceClient) -> None:
    registration = merchant_client.register(brand="Maison Test", serial="OWN-1", metadata={})
    assert merchant_client.item(registration.item_id).owner == merchant_client.address


def test_brand_registrations_are_certified(brand_client: ProvenanceClient) -> None:
    registration = brand_client.register(brand="Maison Test", serial="CERT-1", metadata=METADATA)
    assert brand_client.item(registration.item_id).brand_certified


def test_unknown_item_is_not_found(reader: ProvenanceClient) -> None:
    unknown = item_id(brand="Maison Test", serial="NOPE")
    with pytest.raises(errors.ItemNotRegistered) as caught:
        reader.item(unknown)
    assert caught.value.itemId == unknown
    assert isinstance(caught.value, errors.NotFound)
    with pytest.raises(errors.ItemNotRegistered):
        reader.verify(item_id=unknown, metadata=METADATA)
    assert reader.current_metadata_hash(unknown) is None


def test_second_registration_of_an_item_is_refused_with_its_id(
    registered: Registration, merchant_client: ProvenanceClient, brand_client: ProvenanceClient
) -> None:
    with pytest.raises(errors.ItemAlreadyRegistered) as caught:
        brand_client.register(brand="MAISON TEST", serial="wk45-0001", metadata={"other": 1})
    assert caught.value.itemId == registered.item_id
    assert not merchant_client.item(registered.item_id).brand_certified


def test_metadata_updates_keep_every_hash_in_history(
    registered: Registration, merchant_client: ProvenanceClient, reader: ProvenanceClient
) -> None:
    second = {**METADATA, "condition": "good"}
    third = {**METADATA, "condition": "fair", "photos": ["front.jpg"]}
    merchant_client.update_metadata(item_id=registered.item_id, metadata=second)
    merchant_client.update_metadata(
        item_id=registered.item_id, metadata=third, metadata_uri="ipfs://v3"
    )

    hashes = [
        event.data["metadata_hash"]
        for event in reader.history(registered.item_id)
        if event.kind in ("registered", "metadata_updated")
    ]
    expected = ["0x" + hash_document(doc).hex() for doc in (METADATA, second, third)]
    # Registration with a URI publishes the first document twice (registered + metadata_updated).
    assert list(dict.fromkeys(hashes)) == expected
    assert reader.current_metadata_hash(registered.item_id) == hash_document(third)
    assert reader.verify(item_id=registered.item_id, metadata=third).matches
    old = reader.verify(item_id=registered.item_id, metadata=METADATA)
    assert not old.matches
    assert old.registered_hash == hash_document(third)


def test_metadata_update_by_a_stranger_is_refused(
    registered: Registration, stranger_client: ProvenanceClient, reader: ProvenanceClient
) -> None:
    with pytest.raises(errors.AccountLacksRole):
        stranger_client.update_metadata(item_id=registered.item_id, metadata={"x": 1})
    assert reader.current_metadata_hash(registered.item_id) == registered.metadata_hash


# ---------------------------------------------------------------------- batches


def test_batch_skips_existing_and_duplicate_items_and_registers_the_rest(
    registered: Registration, merchant_client: ProvenanceClient, accounts: DevAccounts
) -> None:
    items = [
        _item("B-1"),
        NewItem(brand="maison test", serial="WK45 0001", metadata={}),  # already registered
        _item("B-2"),
        NewItem(brand="Maison Test", serial="b1", metadata={"again": True}),  # same label as B-1
        _item("B-3"),
    ]
    result = merchant_client.register_batch(items=items, owner=accounts.owner.address, chunk_size=2)

    expected = [item_id(brand="Maison Test", serial=s) for s in ("B-1", "B-2", "B-3")]
    assert [r.item_id for r in result.registered] == expected
    assert sorted(result.skipped) == sorted(
        [(registered.item_id, "already registered"), (expected[0], "duplicate in input")]
    )
    assert merchant_client.are_registered(expected) == [True, True, True]
    assert {r.tx.tx_hash for r in result.registered[:2]} != {result.registered[2].tx.tx_hash}
    assert merchant_client.item(expected[2]).owner == accounts.owner.address
    assert result.registered[0].metadata_hash == hash_document({"serial": "B-1"})


def test_batch_drops_an_item_registered_concurrently_and_resends_the_rest(
    merchant_client: ProvenanceClient, brand_client: ProvenanceClient, monkeypatch: Any
) -> None:
    raced = brand_client.register(brand="Maison Test", serial="R-2", metadata={}).item_id
    # The pre-check ran before the competitor's registration landed: it saw nothing.
    monkeypatch.setattr(merchant_client, "are_registered", lambda ids: [False] * len(ids))
    result = merchant_client.register_batch(items=[_item("R-1"), _item("R-2"), _item("R-3")])
    assert result.skipped == [(raced, "already registered")]
    assert [r.item_id for r in result.registered] == [
        item_id(brand="Maison Test", serial=s) for s in ("R-1", "R-3")
    ]
    assert brand_client.item(raced).brand_certified  # the competitor's registration stands


def test_batch_where_everything_exists_sends_nothing(
    registered: Registration, merchant_client: ProvenanceClient, nonce_of: Callable[[str], int]
) -> None:
    before = nonce_of(merchant_client.address or "")
    result = merchant_client.register_batch(
        items=[NewItem(brand="Maison Test", serial="WK45-0001", metadata={})]
    )
    assert result.registered == []
    assert result.skipped == [(registered.item_id, "already registered")]
    assert nonce_of(merchant_client.address or "") == before


def test_are_registered_answers_for_more_ids_than_one_call_takes(
    registered: Registration, reader: ProvenanceClient
) -> None:
    ids = [item_id(brand="Bulk", serial=f"S{n}") for n in range(1100)]
    ids[777] = registered.item_id
    answer = reader.are_registered(ids)
    assert len(answer) == 1100
    assert [n for n, registered_ in enumerate(answer) if registered_] == [777]


# ---------------------------------------------------------------------- item life cycle


def test_transfer_moves_the_item_and_records_the_sale(
    registered: Registration, owner_client: ProvenanceClient, accounts: DevAccounts
) -> None:
    owner_client.transfer(
        item_id=registered.item_id, to=accounts.stranger.address, sale_ref="order-1"
    )
    item = owner_client.item(registered.item_id)
    assert item.owner == accounts.stranger.address
    assert item.transfer_nonce == 1
    kinds = [e.kind for e in owner_client.history(registered.item_id)]
    assert kinds[-2:] == ["transferred", "sale_recorded"]


def test_transfer_of_stolen_item_is_refused(
    registered: Registration, owner_client: ProvenanceClient, accounts: DevAccounts
) -> None:
    owner_client.flag(item_id=registered.item_id, status=ItemStatus.STOLEN, report=EVIDENCE)
    with pytest.raises(errors.ItemIsFlagged) as caught:
        owner_client.transfer(item_id=registered.item_id, to=accounts.stranger.address)
    assert caught.value.itemId == registered.item_id
    assert caught.value.status == ItemStatus.STOLEN
    assert "stolen" in str(caught.value)
    item = owner_client.item(registered.item_id)
    assert (item.owner, item.status) == (accounts.owner.address, ItemStatus.STOLEN)


def test_cleared_flag_lets_the_item_move_again(
    registered: Registration, owner_client: ProvenanceClient, accounts: DevAccounts
) -> None:
    owner_client.flag(item_id=registered.item_id, status=ItemStatus.LOST, report=EVIDENCE)
    owner_client.clear_flag(item_id=registered.item_id, clearance={"found": "at home"})
    owner_client.transfer(item_id=registered.item_id, to=accounts.stranger.address)
    assert owner_client.item(registered.item_id).owner == accounts.stranger.address


def test_enum_arguments_may_be_given_by_name(
    registered: Registration, owner_client: ProvenanceClient
) -> None:
    owner_client.flag(item_id=registered.item_id, status="stolen", report=EVIDENCE)
    assert owner_client.item(registered.item_id).status is ItemStatus.STOLEN


def test_flag_raised_by_admin_cannot_be_cleared_by_the_owner(
    registered: Registration, admin_client: ProvenanceClient, owner_client: ProvenanceClient
) -> None:
    admin_client.flag(item_id=registered.item_id, status=ItemStatus.STOLEN, report=EVIDENCE)
    with pytest.raises(errors.FlagHeldByAdmin):
        owner_client.clear_flag(item_id=registered.item_id, clearance=EVIDENCE)
    assert owner_client.item(registered.item_id).flagged_by_admin


def test_retired_item_refuses_everything(
    registered: Registration,
    owner_client: ProvenanceClient,
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    admin_client: ProvenanceClient,
    accounts: DevAccounts,
    nonce_of: Callable[[str], int],
) -> None:
    item = registered.item_id
    owner_client.retire(item_id=item, kind=RetirementKind.RECYCLED, evidence=EVIDENCE)
    before = owner_client.item(item)
    assert before.status is ItemStatus.RETIRED
    attempts: list[Callable[[], Any]] = [
        lambda: owner_client.transfer(item_id=item, to=accounts.stranger.address),
        lambda: owner_client.transfer(item_id=item, to=accounts.stranger.address, sale_ref="o"),
        lambda: owner_client.flag(item_id=item, status=ItemStatus.LOST, report=EVIDENCE),
        lambda: owner_client.retire(item_id=item, kind=RetirementKind.DESTROYED, evidence=EVIDENCE),
        lambda: admin_client.clear_flag(item_id=item, clearance=EVIDENCE),
        lambda: merchant_client.update_metadata(item_id=item, metadata={"late": True}),
        lambda: merchant_client.record_service(
            item_id=item, kind=ServiceKind.REPAIR, evidence=EVIDENCE
        ),
        lambda: authenticator_client.authenticate(
            item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.GOOD, evidence=EVIDENCE
        ),
    ]
    nonces = {a.address: nonce_of(a.address) for a in accounts.all()}
    for attempt in attempts:
        with pytest.raises(errors.ItemIsRetired) as caught:
            attempt()
        assert caught.value.itemId == item
    assert owner_client.item(item) == before
    assert {a.address: nonce_of(a.address) for a in accounts.all()} == nonces


def test_successor_links_to_its_retired_predecessor(
    registered: Registration,
    owner_client: ProvenanceClient,
    brand_client: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    owner_client.retire(
        item_id=registered.item_id, kind=RetirementKind.REMANUFACTURED, evidence=EVIDENCE
    )
    successor = brand_client.register_successor(
        predecessor_id=registered.item_id,
        brand="Maison Test",
        serial="WK45-0001-R",
        metadata={"remade_from": "0x" + registered.item_id.hex()},
        owner=accounts.owner.address,
    )
    for side in (registered.item_id, successor.item_id):
        linked = [e for e in brand_client.history(side) if e.kind == "succeeded"]
        assert len(linked) == 1
        assert linked[0].data["predecessor_id"] == "0x" + registered.item_id.hex()
        assert linked[0].data["successor_id"] == "0x" + successor.item_id.hex()
        assert linked[0].actor == accounts.brand.address


def test_successor_of_a_live_item_is_refused(
    registered: Registration, brand_client: ProvenanceClient
) -> None:
    with pytest.raises(errors.PredecessorNotRetired) as caught:
        brand_client.register_successor(
            predecessor_id=registered.item_id, brand="Maison Test", serial="NEXT-1", metadata={}
        )
    assert caught.value.predecessorId == registered.item_id
    assert brand_client.are_registered([item_id(brand="Maison Test", serial="NEXT-1")]) == [False]


def test_authentication_sets_the_last_verdict(
    registered: Registration, authenticator_client: ProvenanceClient
) -> None:
    authenticator_client.authenticate(
        item_id=registered.item_id,
        verdict=Verdict.COUNTERFEIT,
        grade=ConditionGrade.FAIR,
        evidence=EVIDENCE,
    )
    assert authenticator_client.item(registered.item_id).last_verdict is Verdict.COUNTERFEIT


# ---------------------------------------------------------------------- permissions


def test_suspended_merchant_cannot_register(suspended_client: ProvenanceClient) -> None:
    with pytest.raises(errors.AccountNotActive) as caught:
        suspended_client.register(brand="Maison Test", serial="S-1", metadata={})
    assert caught.value.account == suspended_client.address
    assert caught.value.status == AccountStatus.SUSPENDED


def test_revoked_merchant_cannot_register(revoked_client: ProvenanceClient) -> None:
    with pytest.raises(errors.AccountNotActive) as caught:
        revoked_client.register(brand="Maison Test", serial="S-1", metadata={})
    assert caught.value.status == AccountStatus.REVOKED


def test_unvetted_account_cannot_register(stranger_client: ProvenanceClient) -> None:
    with pytest.raises(errors.AccountLacksRole) as caught:
        stranger_client.register(brand="Maison Test", serial="S-1", metadata={})
    assert caught.value.requiredRoles == Role.MERCHANT | Role.BRAND


def test_only_the_admin_vets(stranger_client: ProvenanceClient, accounts: DevAccounts) -> None:
    with pytest.raises(errors.AccessControlUnauthorizedAccount) as caught:
        stranger_client.vet(
            account=accounts.owner.address, roles=Role.MERCHANT, credentials=EVIDENCE, name="Me"
        )
    assert caught.value.account == accounts.stranger.address
    assert stranger_client.account_record(accounts.owner.address).status is AccountStatus.NONE


def test_vetting_life_cycle_is_recorded(
    admin_client: ProvenanceClient, accounts: DevAccounts
) -> None:
    target = accounts.owner.address
    admin_client.vet(
        account=target, roles=Role.MERCHANT | Role.BRAND, credentials=EVIDENCE, name="Owner Shop"
    )
    record = admin_client.account_record(target)
    assert (record.status, record.roles, record.name) == (
        AccountStatus.ACTIVE,
        Role.MERCHANT | Role.BRAND,
        "Owner Shop",
    )
    assert record.credential_hash == hash_document(EVIDENCE)
    admin_client.amend(account=target, roles=Role.MERCHANT, credentials=EVIDENCE, name="Renamed")
    admin_client.suspend(account=target, reason="late shipments")
    assert admin_client.account_record(target).status is AccountStatus.SUSPENDED
    admin_client.reinstate(account=target, reason={"fixed": True})
    admin_client.revoke(account=target, reason={"fraud": True})
    record = admin_client.account_record(target)
    assert (record.status, record.roles, record.name) == (
        AccountStatus.REVOKED,
        Role.MERCHANT,
        "Renamed",
    )
    with pytest.raises(errors.InvalidStatusTransition) as caught:
        admin_client.reinstate(account=target, reason="again")
    assert caught.value.arguments["from"] == AccountStatus.REVOKED


def test_read_only_client_refuses_to_write(reader: ProvenanceClient) -> None:
    assert reader.address is None
    with pytest.raises(errors.ConfigurationError, match="read-only"):
        reader.register(
            brand="Maison Test", serial="RO-1", metadata={}, owner=reader.deployment.admin
        )


# ---------------------------------------------------------------------- input validation


@pytest.mark.parametrize(
    "owner",
    [
        "0x123",
        "not an address",
        "0x7e5f4552091a69125d5dfcb7b8c2659029395bdF",  # mixed case with a wrong checksum
        "0x" + "00" * 20,
    ],
)
def test_bad_owner_address_is_an_input_error_naming_owner(
    merchant_client: ProvenanceClient, owner: str, nonce_of: Callable[[str], int]
) -> None:
    before = nonce_of(merchant_client.address or "")
    with pytest.raises(errors.InputError) as caught:
        merchant_client.register(brand="Maison Test", serial="V-1", metadata={}, owner=owner)
    assert caught.value.field == "owner"
    assert nonce_of(merchant_client.address or "") == before


def test_lower_case_addresses_are_accepted(
    merchant_client: ProvenanceClient, accounts: DevAccounts
) -> None:
    registration = merchant_client.register(
        brand="Maison Test", serial="V-2", metadata={}, owner=accounts.owner.address.lower()
    )
    assert merchant_client.item(registration.item_id).owner == accounts.owner.address


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.item("0x1234"), "item_id"),
        (lambda c: c.transfer(item_id=b"\x01" * 32, to="0xnothex"), "to"),
        (lambda c: c.flag(item_id=b"\x01" * 32, status=ItemStatus.LOST, report="0xbad"), "report"),
        (lambda c: c.register(brand=" ", serial="X", metadata={}), "brand"),
        (lambda c: c.register(brand="B", serial="--", metadata={}), "serial"),
        (lambda c: c.register(brand="B", serial="X", metadata=[1, 2]), "metadata"),
        (lambda c: c.register(brand="B", serial="X", metadata={"n": float("nan")}), "metadata"),
        (lambda c: c.flag(item_id=b"\x01" * 32, status=9, report=EVIDENCE), "status"),
        (
            lambda c: c.vet(account="0x12", roles=Role.MERCHANT, credentials=EVIDENCE, name="x"),
            "account",
        ),
    ],
)
def test_malformed_input_is_refused_before_sending(
    merchant_client: ProvenanceClient, call: Callable[[ProvenanceClient], Any], field: str
) -> None:
    with pytest.raises(errors.InputError) as caught:
        call(merchant_client)
    assert caught.value.field == field


# ---------------------------------------------------------------------- the sender


def test_refused_call_is_never_sent(
    registered: Registration,
    merchant_client: ProvenanceClient,
    w3: Web3,
    nonce_of: Callable[[str], int],
) -> None:
    address = merchant_client.address or ""
    nonce, block = nonce_of(address), w3.eth.block_number
    with pytest.raises(errors.ItemAlreadyRegistered):
        merchant_client.register(brand="Maison Test", serial="WK45-0001", metadata={})
    assert (nonce_of(address), w3.eth.block_number) == (nonce, block)
    # The local nonce counter did not move either: the next send uses the next nonce.
    tx = merchant_client.register(brand="Maison Test", serial="N-1", metadata={}).tx
    assert w3.eth.get_transaction(tx.tx_hash)["nonce"] == nonce  # type: ignore[arg-type]


def test_concurrent_sends_from_threads_all_land_with_distinct_nonces(
    merchant_client: ProvenanceClient, w3: Web3, nonce_of: Callable[[str], int]
) -> None:
    address = merchant_client.address or ""
    start = nonce_of(address)
    results: list[Registration] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(thread: int) -> None:
        for n in range(5):
            try:
                registration = merchant_client.register(
                    brand="Maison Test", serial=f"T{thread}-{n}", metadata={"n": n}
                )
            except BaseException as exc:  # collected and asserted on below
                with lock:
                    failures.append(exc)
            else:
                with lock:
                    results.append(registration)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(results) == 20
    nonces = sorted(
        w3.eth.get_transaction(r.tx.tx_hash)["nonce"]  # type: ignore[arg-type]
        for r in results
    )
    assert nonces == list(range(start, start + 20))
    assert nonce_of(address) == start + 20
    assert all(merchant_client.are_registered([r.item_id for r in results]))


def test_sender_resynchronises_when_the_account_is_used_elsewhere(
    w3: Web3, deployment: Deployment, accounts: DevAccounts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ledger.tx")
    mine = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.merchant)
    elsewhere = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.merchant)
    mine.register(brand="Maison Test", serial="E-1", metadata={})  # counter now cached
    elsewhere.register(brand="Maison Test", serial="E-2", metadata={})  # takes "our" next nonce
    mine.register(brand="Maison Test", serial="E-3", metadata={})  # stale nonce: resync, resend
    assert mine.are_registered(
        [item_id(brand="Maison Test", serial=s) for s in ("E-1", "E-2", "E-3")]
    ) == [True, True, True]
    assert "was stale; resynchronised" in caplog.text


def test_transaction_failing_on_chain_is_decoded_from_a_replay(
    registered: Registration,
    w3: Web3,
    deployment: Deployment,
    accounts: DevAccounts,
    monkeypatch: Any,
    nonce_of: Callable[[str], int],
) -> None:
    client = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.merchant)
    sender: TransactionSender = client._sender  # type: ignore[assignment]
    # Pretend the estimate (which is also the simulation) ran before a competing registration
    # landed.
    monkeypatch.setattr(sender, "_estimate", lambda params: 250_000)
    before = nonce_of(accounts.merchant.address)
    with pytest.raises(errors.ItemAlreadyRegistered) as caught:
        client.register(brand="Maison Test", serial="WK45-0001", metadata={})
    assert caught.value.itemId == registered.item_id
    tx_hash = caught.value.tx_hash
    assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 0
    assert nonce_of(accounts.merchant.address) == before + 1  # mined, so the nonce is spent


def test_a_write_is_estimate_send_receipt_once_fees_are_known(
    w3: Web3, deployment: Deployment, accounts: DevAccounts, monkeypatch: Any
) -> None:
    monkeypatch.setattr(tx, "FEE_MAX_AGE", 60.0)  # a slow machine must not age the reading
    client = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.merchant)
    client.register(brand="Maison Test", serial="RPC-1", metadata={})  # reads fees, nonce
    methods: list[str] = []
    original = EmbeddedProvider.make_request

    def counting(self: EmbeddedProvider, method: Any, params: Any) -> Any:
        methods.append(str(method))
        return original(self, method, params)

    monkeypatch.setattr(EmbeddedProvider, "make_request", counting)
    # The provider keeps its middleware chain (with the old bound method) until it changes.
    monkeypatch.setattr(w3.provider, "_request_func_cache", (None, None))
    client.register(brand="Maison Test", serial="RPC-2", metadata={})
    # No separate eth_call: the estimate is the simulation. (web3's validation middleware
    # also asks for the chain id; on HTTP nodes that answer is cached, see ledger.chain.)
    sent = [m for m in methods if m != "eth_chainId"]
    assert sent == ["eth_estimateGas", "eth_sendRawTransaction", "eth_getTransactionReceipt"]


def test_a_stale_fee_reading_is_refreshed_and_the_send_retried(
    w3: Web3, deployment: Deployment, accounts: DevAccounts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ledger.tx")
    client = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.merchant)
    client.register(brand="Maison Test", serial="FEE-1", metadata={})
    # A reading far below the current base fee: the node refuses the first send.
    tx._readings[w3] = tx._ChainParams(
        read_at=time.monotonic(), block_gas_limit=30_000_000, base_fee=1, priority_fee=1
    )
    registration = client.register(brand="Maison Test", serial="FEE-2", metadata={})
    assert client.are_registered([registration.item_id]) == [True]
    assert "the fee reading was stale; refreshed" in caplog.text


def test_sender_refuses_a_gas_margin_below_one(w3: Web3, accounts: DevAccounts) -> None:
    with pytest.raises(ValueError):
        TransactionSender(
            w3=w3, account=accounts.admin, decoder=errors.ErrorDecoder([]), gas_margin=0.9
        )


def test_sender_never_shows_its_key(w3: Web3, accounts: DevAccounts) -> None:
    sender = TransactionSender(w3=w3, account=accounts.admin, decoder=errors.ErrorDecoder([]))
    key = accounts.admin.key.hex()
    assert key.removeprefix("0x") not in repr(sender)
    assert accounts.admin.address in repr(sender)


def test_embedded_provider_is_shared_safely(tester_provider: EmbeddedProvider) -> None:
    assert isinstance(tester_provider, EmbeddedProvider)


# ---------------------------------------------------------------------- a real node


@pytest.mark.anvil
def test_anvil_round_trip_persists_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_ANVIL_URL", f"http://127.0.0.1:{_unused_port()}")
    record = tmp_path / "deployment.json"
    with connect(target="anvil", data_dir=tmp_path) as connection:
        assert connection.node is not None  # nothing answered there, so it was started
        admin, merchant, owner = dev_accounts(connection.w3)[:3]
        deployment, fresh = load_or_deploy(w3=connection.w3, path=record, admin=admin)
        assert fresh
        admin_client = ProvenanceClient(w3=connection.w3, deployment=deployment, account=admin)
        admin_client.vet(
            account=merchant.address, roles=Role.MERCHANT, credentials=EVIDENCE, name="Shop"
        )
        client = ProvenanceClient(w3=connection.w3, deployment=deployment, account=merchant)
        registration = client.register(
            brand="Maison Test", serial="A-1", metadata=METADATA, owner=owner.address
        )
        # A real node reports the revert as JSON-RPC error data: same exception class.
        with pytest.raises(errors.ItemAlreadyRegistered) as caught:
            client.register(brand="Maison Test", serial="A-1", metadata={})
        assert caught.value.itemId == registration.item_id
    assert (tmp_path / "anvil-state.json").is_file()

    with connect(target="anvil", data_dir=tmp_path) as connection:
        again, fresh = load_or_deploy(w3=connection.w3, path=record, admin=admin)
        assert (again, fresh) == (deployment, False)
        reader = ProvenanceClient(w3=connection.w3, deployment=again)
        assert reader.verify(item_id=registration.item_id, metadata=METADATA).matches
        assert [e.kind for e in reader.history(registration.item_id)] == ["registered"]


# ---------------------------------------------------------------------- the package surface


def test_package_exports_its_public_names_lazily() -> None:
    import ledger

    for name in ledger.__all__:
        assert getattr(ledger, name) is not None, name
    assert ledger.ProvenanceClient is ProvenanceClient
    assert issubclass(ledger.errors.ItemAlreadyRegistered, ledger.LedgerError)


def test_deploy_stays_callable_from_the_package_after_its_module_is_imported(
    w3: Web3, accounts: DevAccounts
) -> None:
    import ledger
    import ledger.deploy

    assert callable(ledger.deploy)
    assert ledger.deploy.load_deployment is load_deployment
    deployment = ledger.deploy(w3=w3, admin=accounts.admin)
    assert isinstance(deployment, Deployment)


def test_an_account_without_gas_money_gets_insufficient_funds_not_a_node_exception(
    w3: Web3, deployment: Deployment, admin_client: ProvenanceClient
) -> None:
    from eth_account import Account as EthAccount

    broke = EthAccount.create()
    admin_client.vet(account=broke.address, roles=Role.MERCHANT, credentials={"x": 1}, name="Broke")
    client = ProvenanceClient(w3=w3, deployment=deployment, account=broke)
    # eth-tester refuses with eth_utils' ValidationError where a node answers a JSON-RPC error;
    # either way it is a conflict the caller fixes by funding the account, not a failure.
    with pytest.raises(errors.InsufficientFunds) as caught:
        client.register(brand="Maison Test", serial="BROKE-1", metadata={})
    assert caught.value.code == "insufficient_funds"
    assert isinstance(caught.value, errors.Conflict)
