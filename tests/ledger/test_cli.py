"""The ``provenance`` CLI, driven through Typer's CliRunner against a real in-process chain.

The embedded chain lives in the process that creates it, so a plain ``--chain embedded``
invocation starts from genesis every time. Most tests therefore hand the CLI the shared test
chain (tests/conftest.py: reverted to the deployed snapshot for each test, named accounts
vetted) as an open `Connection` in Click's ``obj``, the hook `ledger.cli` documents; the
deployment record is written to the test's own data directory. Nothing about the chain is
mocked; a few tests also run the CLI without the hook.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner, Result
from web3 import Web3

from ledger.chain import Connection
from ledger.cli import EXIT_ERROR, EXIT_MISMATCH, app
from ledger.client import ProvenanceClient
from ledger.config import deployment_path
from ledger.deploy import Deployment, load_deployment, save_deployment
from ledger.hashing import hash_bytes, hash_document, item_id
from ledger.keys import KeyRole, KeyStore
from ledger.types import AccountStatus, ItemId, ItemStatus, Role, Verdict
from tests.conftest import DevAccounts

# Settings from the developer's shell must not leak into the tests.
CLEAN_ENV: dict[str, str | None] = {
    "PROVENANCE_CHAIN": None,
    "PROVENANCE_DATA_DIR": None,
    "PROVENANCE_KEY_FILE": None,
    "PROVENANCE_KEY_PASSWORD": None,
    "PROVENANCE_PRIVATE_KEY": None,
    "PROVENANCE_ACCOUNT": None,
    "PROVENANCE_DEBUG": None,
    "PROVENANCE_FAUCET_WEI": None,
    "PROVENANCE_ADMIN_API_KEY": None,
    "COLUMNS": "200",
    # scrypt at eth-keyfile's default costs ~0.7 s per new keystore account.
    "PROVENANCE_KEYSTORE_WORK_FACTOR": "1024",
}


@dataclass
class Cli:
    """Runs ``provenance`` on the test chain, with the test's data directory."""

    w3: Web3
    data_dir: Path
    dev_keys: list[LocalAccount]

    def __call__(
        self,
        *args: str,
        signer: LocalAccount | None = None,
        env: Mapping[str, str | None] | None = None,
    ) -> Result:
        argv = ["--data-dir", str(self.data_dir)]
        if signer is not None:  # --account N: the signer's index among the chain's dev accounts
            argv += ["--account", str(self.dev_keys.index(signer))]
        return CliRunner().invoke(
            app, [*argv, *args], obj=Connection(w3=self.w3), env={**CLEAN_ENV, **(env or {})}
        )

    def ok(self, *args: str, signer: LocalAccount | None = None) -> Result:
        result = self(*args, signer=signer)
        assert result.exit_code == 0, result.output
        return result


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def assert_one_error_line(result: Result, *fragments: str) -> None:
    """Exit code 1, a single ``error:`` line containing ``fragments``, and no traceback."""
    assert result.exit_code == EXIT_ERROR, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def hex_id(brand: str, serial: str) -> str:
    return "0x" + item_id(brand=brand, serial=serial).hex()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    path = tmp_path / "files"
    path.mkdir()
    return path


@pytest.fixture
def bare_cli(w3: Web3, dev_keys: list[LocalAccount], tmp_path: Path) -> Cli:
    """The CLI on an empty chain, with no deployment record."""
    return Cli(w3=w3, data_dir=tmp_path / "data", dev_keys=dev_keys)


@pytest.fixture
def cli(w3: Web3, deployment: Deployment, dev_keys: list[LocalAccount], tmp_path: Path) -> Cli:
    """The CLI on the deployed test chain, its deployment recorded in the data directory."""
    data_dir = tmp_path / "data"
    save_deployment(
        deployment=deployment,
        path=deployment_path(data_dir=data_dir, chain_id=deployment.chain_id),
    )
    return Cli(w3=w3, data_dir=data_dir, dev_keys=dev_keys)


def register(
    cli: Cli, files: Path, *, signer: LocalAccount, brand: str, serial: str, **extra: Any
) -> str:
    document = {"brand": brand, "serial": serial, "metadata": {"model": serial}, **extra}
    result = cli.ok("register", str(write_json(files / f"{serial}.json", document)), signer=signer)
    expected = hex_id(brand, serial)
    assert expected in result.output
    return expected


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], env=CLEAN_ENV)
    assert result.exit_code == 0
    for command in (
        "deploy", "merchant", "register", "transfer", "flag", "clear-flag", "attest", "service",
        "retire", "history", "verify", "import", "keys", "serve",
    ):  # fmt: skip
        assert command in result.output
    merchant = CliRunner().invoke(app, ["merchant", "--help"], env=CLEAN_ENV)
    for command in ("approve", "suspend", "reinstate", "revoke"):
        assert command in merchant.output
    keys = CliRunner().invoke(app, ["keys", "--help"], env=CLEAN_ENV)
    for command in ("create", "list", "revoke"):
        assert command in keys.output


def test_deploy_writes_the_record_and_a_second_deploy_reuses_it(
    bare_cli: Cli, w3: Web3, accounts: DevAccounts
) -> None:
    first = bare_cli.ok("deploy")
    (record,) = bare_cli.data_dir.glob("deployment-*.json")
    assert record.name == f"deployment-{w3.eth.chain_id}.json"
    deployment = load_deployment(path=record)
    assert deployment.passport in first.output
    assert deployment.admin == accounts.admin.address  # dev account 0 by default
    assert len(w3.eth.get_code(deployment.passport)) > 0

    again = bare_cli.ok("deploy")
    assert "Already deployed" in again.output and deployment.passport in again.output
    assert load_deployment(path=record) == deployment


def test_commands_before_deploy_say_to_deploy_first(bare_cli: Cli) -> None:
    assert_one_error_line(bare_cli("history", "0x" + "11" * 32), "provenance deploy")


def test_merchant_approve_vets_the_account_with_the_given_roles_and_name(
    cli: Cli, reader: ProvenanceClient, accounts: DevAccounts, files: Path
) -> None:
    dossier = write_json(files / "dossier.json", {"company": "Acme Resale", "vat": "FR123"})
    cli.ok(
        "merchant", "approve", "--address", accounts.spare.address, "--name", "Acme Resale",
        "--roles", "merchant,brand", "--credentials", str(dossier), "--reason", "documents checked",
    )  # fmt: skip
    record = reader.account_record(accounts.spare.address)
    assert record.status == AccountStatus.ACTIVE
    assert record.roles == Role.MERCHANT | Role.BRAND
    assert record.name == "Acme Resale"
    # The credential hash is the RFC 8785 hash of the dossier file, which itself never leaves.
    assert record.credential_hash == hash_document({"company": "Acme Resale", "vat": "FR123"})
    shown = json.loads(
        cli.ok("merchant", "show", "--address", accounts.spare.address, "--json").stdout
    )
    assert shown["roles"] == ["merchant", "brand"] and shown["status"] == "active"


def test_an_items_whole_life_is_recorded_and_read_back_in_order(
    cli: Cli, reader: ProvenanceClient, accounts: DevAccounts, files: Path
) -> None:
    merchant, owner = accounts.merchant, accounts.owner
    item = register(cli, files, signer=merchant, brand="Hermès", serial="LIFE-0001")
    cli.ok(
        "attest", item, "--verdict", "authentic", "--grade", "like_new",
        "--evidence", "seen in lab", signer=accounts.authenticator,
    )  # fmt: skip
    cli.ok("service", item, "--kind", "repair", "--evidence", "strap restitched", signer=merchant)
    order = write_json(files / "order.json", {"order": "A-1", "price_eur": 4200})
    cli.ok("transfer", item, "--to", owner.address, "--sale-ref", str(order), signer=merchant)
    cli.ok("flag", item, "--status", "stolen", "--report", "police report 42", signer=owner)
    cli.ok("clear-flag", item, "--clearance", "recovered", signer=owner)
    cli.ok("retire", item, "--kind", "recycled", "--evidence", "recycling cert", signer=owner)

    state = reader.item(ItemId(bytes.fromhex(item[2:])))
    assert state.owner == owner.address
    assert state.status == ItemStatus.RETIRED
    assert state.last_verdict == Verdict.AUTHENTIC

    events = json.loads(cli.ok("history", item, "--json").stdout)
    assert [e["kind"] for e in events] == [
        "registered", "authenticated", "serviced", "transferred", "sale_recorded", "flagged",
        "flag_cleared", "retired",
    ]  # fmt: skip
    assert events[1]["data"]["grade"] == "like_new"
    sale_ref = "0x" + hash_document({"order": "A-1", "price_eur": 4200}).hex()
    assert events[4]["data"]["sale_ref"] == sale_ref

    table = cli.ok("history", item).output
    for kind in ("registered", "authenticated", "transferred", "flag_cleared", "retired"):
        assert kind in table


def test_a_flagged_item_cannot_be_transferred_and_the_refusal_is_one_red_line(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    merchant = accounts.merchant
    item = register(cli, files, signer=merchant, brand="Rolex", serial="FLAG-0001")
    cli.ok("flag", item, "--status", "lost", "--report", "lost on the train", signer=merchant)
    refused = cli("transfer", item, "--to", accounts.owner.address, signer=merchant)
    assert_one_error_line(refused, item, "reported lost")


def test_history_by_brand_and_serial_equals_history_by_item_id(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    item = register(
        cli, files, signer=accounts.merchant, brand="Maison  Margiela", serial="tabi-0042"
    )
    by_id = json.loads(cli.ok("history", item, "--json").stdout)
    by_label = json.loads(
        cli.ok("history", "--brand", "maison margiela", "--serial", "TABI 0042", "--json").stdout
    )
    assert by_label == by_id
    assert [event["kind"] for event in by_id] == ["registered"]


def test_verify_exits_0_on_a_match_and_2_on_a_mismatch(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    document = {"brand": "Chanel", "serial": "VERIFY-1", "metadata": {"model": "2.55", "size": 25}}
    source = write_json(files / "verify.json", document)
    registered = cli.ok("register", str(source), signer=accounts.merchant)
    assert "0x" + hash_document(document["metadata"]).hex() in registered.output
    item = hex_id("Chanel", "VERIFY-1")

    # Key order and whitespace do not matter: the hash is over RFC 8785 canonical JSON.
    same = files / "same.json"
    same.write_text('{ "size": 25,\n  "model": "2.55" }', encoding="utf-8")
    match = cli("verify", item, "--metadata", str(same))
    assert match.exit_code == 0, match.output
    assert "match" in match.output and "mismatch" not in match.output

    other = write_json(files / "other.json", {"model": "2.55", "size": 30})
    mismatch = cli("verify", "--brand", "chanel", "--serial", "verify-1", "--metadata", str(other))
    assert mismatch.exit_code == EXIT_MISMATCH, mismatch.output
    assert "mismatch" in mismatch.output


def test_update_metadata_makes_the_new_document_the_one_that_verifies(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    item = register(cli, files, signer=accounts.merchant, brand="Prada", serial="UPD-1")
    new = write_json(files / "new-meta.json", {"model": "UPD-1", "condition": "excellent"})
    cli.ok("update-metadata", item, "--metadata", str(new), signer=accounts.merchant)
    assert cli("verify", item, "--metadata", str(new)).exit_code == 0
    old = write_json(files / "old-meta.json", {"model": "UPD-1"})
    assert cli("verify", item, "--metadata", str(old)).exit_code == EXIT_MISMATCH
    kinds = [e["kind"] for e in json.loads(cli.ok("history", item, "--json").stdout)]
    assert kinds == ["registered", "metadata_updated"]


def test_register_with_predecessor_links_the_successor_to_a_retired_item(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    merchant = accounts.merchant
    old = register(cli, files, signer=merchant, brand="Levi's", serial="OLD-501")
    cli.ok(
        "retire", old, "--kind", "remanufactured", "--evidence", "cut into a bag", signer=merchant
    )
    document = {"brand": "Levi's", "serial": "NEW-BAG-1", "metadata": {"made_from": old}}
    source = write_json(files / "successor.json", document)
    cli.ok("register", str(source), "--predecessor", old, signer=merchant)
    new = hex_id("Levi's", "NEW-BAG-1")
    kinds = [e["kind"] for e in json.loads(cli.ok("history", new, "--json").stdout)]
    assert "succeeded" in kinds and "registered" in kinds


def test_register_names_the_missing_or_bad_field_of_a_document(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    merchant = accounts.merchant
    no_serial = write_json(files / "no-serial.json", {"brand": "Gucci", "metadata": {"a": 1}})
    assert_one_error_line(cli("register", str(no_serial), signer=merchant), "serial")
    blank = write_json(
        files / "blank.json", {"brand": "Gucci", "serial": " - ", "metadata": {"a": 1}}
    )
    assert_one_error_line(cli("register", str(blank), signer=merchant), "serial", "empty")
    bad_owner = write_json(
        files / "bad-owner.json",
        {"brand": "Gucci", "serial": "G1", "metadata": {"a": 1}, "owner": "0x1234"},
    )
    assert_one_error_line(cli("register", str(bad_owner), signer=merchant), "owner")
    not_json = files / "broken.json"
    not_json.write_text("{", encoding="utf-8")
    assert_one_error_line(cli("register", str(not_json), signer=merchant), "FILE", "not valid JSON")


def test_an_unvetted_signer_is_refused_with_the_contracts_reason(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    document = write_json(files / "s.json", {"brand": "Dior", "serial": "S1", "metadata": {"a": 1}})
    refused = cli("register", str(document), signer=accounts.stranger)
    assert_one_error_line(refused, accounts.stranger.address, "not vetted")


def test_only_the_admin_can_approve_merchants(cli: Cli, accounts: DevAccounts, files: Path) -> None:
    dossier = write_json(files / "d.json", {"company": "Sneaky"})
    refused = cli(
        "merchant", "approve", "--address", accounts.stranger.address, "--name", "Sneaky",
        "--credentials", str(dossier), signer=accounts.merchant,
    )  # fmt: skip
    assert_one_error_line(refused, accounts.merchant.address)


def test_suspended_merchants_register_again_once_reinstated_and_never_once_revoked(
    cli: Cli, reader: ProvenanceClient, accounts: DevAccounts, files: Path
) -> None:
    subject = accounts.suspended_merchant
    first = write_json(
        files / "a.json", {"brand": "Fendi", "serial": "SUB-1", "metadata": {"a": 1}}
    )
    assert_one_error_line(cli("register", str(first), signer=subject), "suspended")

    cli.ok("merchant", "reinstate", "--address", subject.address, "--reason", "resolved")
    assert reader.account_record(subject.address).status == AccountStatus.ACTIVE
    cli.ok("register", str(first), signer=subject)

    cli.ok("merchant", "suspend", "--address", subject.address, "--reason", "complaints")
    assert reader.account_record(subject.address).status == AccountStatus.SUSPENDED
    cli.ok("merchant", "revoke", "--address", subject.address, "--reason", "fraud")
    assert reader.account_record(subject.address).status == AccountStatus.REVOKED
    second = write_json(
        files / "b.json", {"brand": "Fendi", "serial": "SUB-2", "metadata": {"a": 1}}
    )
    assert_one_error_line(cli("register", str(second), signer=subject), "revoked")
    assert_one_error_line(
        cli("merchant", "reinstate", "--address", subject.address, "--reason", "please"),
        "cannot go from revoked to active",
    )


def test_bad_arguments_are_reported_with_the_option_they_came_from(cli: Cli, files: Path) -> None:
    assert_one_error_line(cli("history", "0x1234"), "ITEM")
    assert_one_error_line(cli("history"), "ITEM")
    assert_one_error_line(cli("transfer", "0x" + "ab" * 32, "--to", "not-an-address"), "--to")
    dossier = write_json(files / "d.json", {"x": 1})
    assert_one_error_line(
        cli("merchant", "approve", "--address", "0x" + "12" * 20, "--name", "X",
            "--roles", "merchant,wizard", "--credentials", str(dossier)),
        "--roles", "wizard",
    )  # fmt: skip
    assert_one_error_line(
        CliRunner().invoke(
            app, ["--data-dir", str(cli.data_dir), "--account", "99", "info"],
            obj=Connection(w3=cli.w3), env=CLEAN_ENV,
        ),
        "--account",
    )  # fmt: skip
    assert_one_error_line(
        cli("flag", "0x" + "ab" * 32, "--status", "lost", "--report", "missing-report.pdf"),
        "--report",
        "no such file",
    )


def test_an_unknown_item_is_reported_as_not_registered(cli: Cli) -> None:
    unknown = "0x" + "42" * 32
    assert_one_error_line(cli("history", unknown), unknown, "not registered")


def test_signing_keys_come_from_env_or_key_file_and_are_never_printed(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    holder = accounts.spare
    key_hex = holder.key.hex().removeprefix("0x")

    from_env = cli("info", env={"PROVENANCE_PRIVATE_KEY": "0x" + key_hex})
    assert from_env.exit_code == 0, from_env.output
    assert holder.address in from_env.output and "PROVENANCE_PRIVATE_KEY" in from_env.output

    hex_file = files / "key.txt"
    hex_file.write_text(key_hex + "\n", encoding="utf-8")
    from_file = cli("--key-file", str(hex_file), "info")
    assert from_file.exit_code == 0, from_file.output
    assert holder.address in from_file.output

    keystore = write_json(
        files / "keystore.json",
        EthAccount.encrypt(holder.key, "s3cret", kdf="pbkdf2", iterations=2),
    )
    unlocked = cli("--key-file", str(keystore), "info", env={"PROVENANCE_KEY_PASSWORD": "s3cret"})
    assert unlocked.exit_code == 0, unlocked.output
    assert holder.address in unlocked.output
    wrong = cli("--key-file", str(keystore), "info", env={"PROVENANCE_KEY_PASSWORD": "nope"})
    assert_one_error_line(wrong, "cannot decrypt")

    truncated = cli("info", env={"PROVENANCE_PRIVATE_KEY": key_hex[:-2]})
    assert_one_error_line(truncated, "PROVENANCE_PRIVATE_KEY")

    for result in (from_env, from_file, unlocked, wrong, truncated):
        assert key_hex not in result.output.lower()
        assert key_hex[:-2] not in result.output.lower()


def test_without_the_hook_each_embedded_invocation_is_a_fresh_chain(tmp_path: Path) -> None:
    base = ["--chain", "embedded", "--data-dir", str(tmp_path)]
    deployed = CliRunner().invoke(app, [*base, "deploy"], env=CLEAN_ENV)
    assert deployed.exit_code == 0, deployed.output
    assert list(tmp_path.glob("deployment-*.json"))
    # The next invocation is a new in-process chain: the record no longer points at a contract.
    stale = CliRunner().invoke(app, [*base, "history", "0x" + "11" * 32], env=CLEAN_ENV)
    assert_one_error_line(stale, "not on this chain", "provenance deploy")


def test_an_unreachable_or_unknown_chain_is_one_error_line(tmp_path: Path) -> None:
    base = ["--data-dir", str(tmp_path)]
    unknown = CliRunner().invoke(app, ["--chain", "mainnet-please", *base, "info"], env=CLEAN_ENV)
    assert_one_error_line(unknown, "unknown chain target")
    down = CliRunner().invoke(app, ["--chain", "http://127.0.0.1:9", *base, "info"], env=CLEAN_ENV)
    assert_one_error_line(down, "127.0.0.1:9")


def test_evidence_files_are_hashed_by_content_and_other_text_as_utf8(
    cli: Cli, accounts: DevAccounts, files: Path
) -> None:
    item = register(cli, files, signer=accounts.merchant, brand="Cartier", serial="EVID-1")
    photo = files / "scan.pdf"
    photo.write_bytes(b"%PDF-1.7 inspection report" + bytes(range(256)))
    lab = accounts.authenticator
    cli.ok("attest", item, "--verdict", "authentic", "--evidence", str(photo), signer=lab)
    url = "https://lab.example/reports/77"
    cli.ok("attest", item, "--verdict", "inconclusive", "--evidence", url, signer=lab)
    given = "0x" + "ab" * 32
    cli.ok("service", item, "--kind", "other", "--evidence", given, signer=accounts.merchant)

    events = json.loads(cli.ok("history", item, "--json").stdout)
    hashes = [e["data"]["evidence_hash"] for e in events if "evidence_hash" in e["data"]]
    assert hashes == [
        "0x" + hash_bytes(photo.read_bytes()).hex(),
        "0x" + hash_bytes(url.encode()).hex(),
        given,
    ]


def test_show_reports_the_items_current_state(cli: Cli, accounts: DevAccounts, files: Path) -> None:
    item = register(cli, files, signer=accounts.merchant, brand="Bottega", serial="SHOW-1")
    shown = json.loads(cli.ok("show", "--brand", "bottega", "--serial", "show 1", "--json").stdout)
    assert shown["item_id"] == item
    assert shown["owner"] == accounts.merchant.address
    assert shown["status"] == "active" and shown["last_verdict"] == "none"
    assert shown["metadata_hash"] == "0x" + hash_document({"model": "SHOW-1"}).hex()
    assert "Second Life Luxury" in cli.ok("show", item).output  # the registrant's vetted name


# ---------------------------------------------------------------------- API keys and the gateway


def _created_key(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def _key_store(cli: Cli) -> KeyStore:
    return KeyStore.open(cli.data_dir)


def test_keys_create_makes_a_funded_keystore_account_and_a_key_the_store_accepts(
    cli: Cli, w3: Web3
) -> None:
    result = cli("keys", "create", "--role", "merchant", "--name", "Fresh Resale")
    assert result.exit_code == 0, result.output
    secret = next(word for word in result.output.split() if word.startswith("plk_"))
    assert "Shown once" in result.output
    store = _key_store(cli)
    try:
        key = store.authenticate(secret)
    finally:
        store.close()
    assert key is not None and key.role == KeyRole.MERCHANT and key.name == "Fresh Resale"
    assert key.id in result.output and key.address in result.output
    assert (cli.data_dir / "keystore" / f"{key.address}.json").is_file()
    assert w3.eth.get_balance(key.address) == 10**18  # type: ignore[arg-type]


def test_keys_create_binds_signable_accounts_only_and_admin_keys_to_the_admin(
    cli: Cli, accounts: DevAccounts
) -> None:
    bound = _created_key(
        cli("keys", "create", "--role", "brand", "--name", "Maison", "--json",
            "--address", accounts.brand.address)
    )  # fmt: skip
    assert bound["address"] == accounts.brand.address and bound["account_created"] is False
    assert bound["funded_wei"] == 0  # a dev account holds plenty already
    admin = _created_key(cli("keys", "create", "--role", "admin", "--name", "ops", "--json"))
    assert admin["address"] == accounts.admin.address and admin["role"] == "admin"

    as_admin = cli("keys", "create", "--role", "merchant", "--name", "x",
                   "--address", accounts.admin.address)  # fmt: skip
    assert_one_error_line(as_admin, "platform admin")
    faucet = cli("keys", "create", "--role", "merchant", "--name", "x",
                 "--address", accounts.spare.address)  # fmt: skip
    assert_one_error_line(faucet, "faucet")
    stranger = EthAccount.create().address
    unknown = cli("keys", "create", "--role", "merchant", "--name", "x", "--address", stranger)
    assert_one_error_line(unknown, "no signing key", stranger)


def test_only_the_platform_admin_creates_keys(cli: Cli, accounts: DevAccounts) -> None:
    result = cli("keys", "create", "--role", "merchant", "--name", "x", signer=accounts.merchant)
    assert_one_error_line(result, "not the admin")
    assert not (cli.data_dir / "gateway.db").exists()


def test_keys_list_never_shows_secrets_and_revoke_is_refused_at_once(cli: Cli) -> None:
    first = _created_key(cli("keys", "create", "--role", "merchant", "--name", "One", "--json"))
    second = _created_key(cli("keys", "create", "--role", "merchant", "--name", "Two", "--json"))

    listing = cli.ok("keys", "list")
    assert first["id"] in listing.output and second["id"] in listing.output
    as_json = json.loads(cli.ok("keys", "list", "--json").stdout)
    assert {k["id"] for k in as_json} == {first["id"], second["id"]}
    assert all("api_key" not in k for k in as_json)
    for secret in (first["api_key"], second["api_key"]):
        assert secret not in listing.output and secret not in json.dumps(as_json)

    revoked = cli.ok("keys", "revoke", first["id"])
    assert "Revoked" in revoked.output and first["id"] in revoked.output
    store = _key_store(cli)
    try:
        assert store.authenticate(first["api_key"]) is None
        assert store.authenticate(second["api_key"]) is not None
    finally:
        store.close()
    active = json.loads(cli.ok("keys", "list", "--active-only", "--json").stdout)
    assert [k["id"] for k in active] == [second["id"]]
    assert "revoked" in cli.ok("keys", "list").output

    assert_one_error_line(cli("keys", "revoke", "key_nope"), "key_nope")


def test_a_key_made_with_the_cli_works_at_the_gateway(
    cli: Cli, w3: Web3, accounts: DevAccounts, files: Path
) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    key = _created_key(cli("keys", "create", "--role", "merchant", "--name", "Shop", "--json"))
    credentials = write_json(files / "dossier.json", {"rcs": "FR-1"})
    cli.ok("merchant", "approve", "--address", key["address"], "--name", "Shop",
           "--credentials", str(credentials))  # fmt: skip
    settings = Settings(chain="embedded", data_dir=cli.data_dir, keystore_work_factor=1024)
    # The gateway on the same chain (the connection is passed in) and the same data directory.
    with TestClient(create_app(settings, connection=Connection(w3=w3))) as http:
        headers = {"Authorization": f"Bearer {key['api_key']}"}
        item = {"brand": "Maison CLI", "serial": "K-1", "metadata": {"m": 1}}
        created = http.post("/items", json=item, headers=headers)
        assert created.status_code == 201, created.text
        assert created.json()["owner"] == key["address"]
        cli.ok("keys", "revoke", key["id"])
        refused = http.post("/items", json={**item, "serial": "K-2"}, headers=headers)
        assert refused.status_code == 401


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_answers_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(PYTHONUNBUFFERED="1", COLUMNS="200")
    command = [sys.executable, "-m", "ledger.cli", "--chain", "embedded",
               "--data-dir", str(tmp_path), "serve", "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        health: httpx.Response | None = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.status_code == 200, health
        assert health.json()["chain"] == "embedded"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "Ready." in output and f"http://127.0.0.1:{port}/docs" in output
    assert str(tmp_path / "admin.key") in output and "Stopped." in output
    assert (tmp_path / "admin.key").read_text().strip() not in output
