"""The resale-market commands of the ``provenance`` CLI, through CliRunner on the shared chain.

As in tests/ledger/test_cli.py, the CLI gets the test chain as an open `Connection` in Click's
``obj`` and the deployment record (with its market) in the test's data directory; signers are
chosen with ``--account N`` (the dev account's index).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner
from web3 import Web3

from ledger.cli import app, parse_duration, parse_price
from ledger.client import ProvenanceClient
from ledger.config import deployment_path
from ledger.deploy import DEFAULT_FEE_BPS, Deployment, deploy, load_deployment, save_deployment
from ledger.errors import InputError
from tests.conftest import DevAccounts
from tests.ledger.test_cli import CLEAN_ENV, Cli, assert_one_error_line

PRICE_ETH = "1.5eth"
PRICE_WEI = 1_500_000_000_000_000_000


@pytest.fixture
def cli(w3: Web3, deployment: Deployment, dev_keys: list[LocalAccount], tmp_path: Path) -> Cli:
    """The CLI on the deployed test chain, its deployment (with the market) recorded."""
    data_dir = tmp_path / "data"
    save_deployment(
        deployment=deployment,
        path=deployment_path(data_dir=data_dir, chain_id=deployment.chain_id),
    )
    return Cli(w3=w3, data_dir=data_dir, dev_keys=dev_keys)


def _item(merchant_client: ProvenanceClient, serial: str) -> str:
    registration = merchant_client.register(brand="Maison Test", serial=serial, metadata={})
    return "0x" + registration.item_id.hex()


def _listed_and_bought(cli: Cli, item: str, accounts: DevAccounts) -> int:
    listed = json.loads(
        cli.ok(
            "list", item, "--price", PRICE_ETH, "--expires", "7d", "--json",
            signer=accounts.merchant,
        ).output
    )  # fmt: skip
    assert listed["price_wei"] == str(PRICE_WEI)
    bought = json.loads(
        cli.ok("buy", str(listed["listing_id"]), "--json", signer=accounts.owner).output
    )
    assert (bought["state"], bought["price_wei"]) == ("paid", str(PRICE_WEI))
    assert bought["buyer"] == accounts.owner.address
    return int(bought["sale_id"])


def test_help_lists_the_market_commands_and_leaves_evidence_to_bundles() -> None:
    result = CliRunner().invoke(app, ["--help"], env=CLEAN_ENV)
    assert result.exit_code == 0
    names = {
        line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")
    }  # the rows of Rich's command table
    for command in (
        "list", "buy", "ship", "confirm", "dispute", "dispute-evidence", "rule", "finalize",
        "withdraw", "sale", "listing", "cancel-listing", "cancel-sale", "default-refund", "credits",
    ):  # fmt: skip
        assert command in names, command
    evidence_help = CliRunner().invoke(app, ["evidence", "--help"], env=CLEAN_ENV)
    assert evidence_help.exit_code == 0
    assert "bundle" in evidence_help.output.lower()  # dispute evidence is `dispute-evidence`


def test_list_buy_ship_confirm_withdraw(
    cli: Cli, merchant_client: ProvenanceClient, accounts: DevAccounts, w3: Web3
) -> None:
    item = _item(merchant_client, "CLI-MKT-1")
    sale_id = _listed_and_bought(cli, item, accounts)

    shipped = cli.ok("ship", str(sale_id), "--ref", "DHL JD0146000012345", signer=accounts.merchant)
    assert f"Marked sale {sale_id} shipped" in shipped.output
    assert "confirm or dispute by" in shipped.output
    confirmed = cli.ok("confirm", str(sale_id), signer=accounts.owner)
    assert f"Confirmed delivery of sale {sale_id}" in confirmed.output

    sale = json.loads(cli.ok("sale", str(sale_id), "--json").output)
    assert sale["state"] == "completed"
    assert merchant_client.item(bytes.fromhex(item[2:])).owner == accounts.owner.address  # type: ignore[arg-type]
    proceeds = PRICE_WEI - PRICE_WEI * DEFAULT_FEE_BPS // 10_000
    credits = cli.ok("credits", signer=accounts.merchant)
    assert f"({proceeds} wei)" in credits.output
    before = w3.eth.get_balance(accounts.merchant.address)

    withdrawn = cli.ok("withdraw", signer=accounts.merchant)

    ether = format(Decimal(proceeds).scaleb(-18).normalize(), "f")
    assert f"Withdrew {ether} ETH ({proceeds} wei)" in withdrawn.output
    assert w3.eth.get_balance(accounts.merchant.address) > before
    assert_one_error_line(cli("withdraw", signer=accounts.merchant), "nothing to withdraw")


def test_dispute_evidence_and_a_partial_ruling(
    cli: Cli, merchant_client: ProvenanceClient, accounts: DevAccounts
) -> None:
    item = _item(merchant_client, "CLI-MKT-2")
    sale_id = _listed_and_bought(cli, item, accounts)
    cli.ok("ship", str(sale_id), "--ref", "Colissimo 8R123", signer=accounts.merchant)

    opened = cli.ok(
        "dispute", str(sale_id), "--reason", "not_as_described", "--evidence",
        "the buckle is replaced", "--uri", "ipfs://claim", signer=accounts.owner,
    )  # fmt: skip
    assert "ruling due by" in opened.output
    cli.ok("dispute-evidence", str(sale_id), "--evidence", "original buckle, see invoice",
           signer=accounts.merchant)  # fmt: skip
    assert_one_error_line(
        cli(
            "rule", str(sale_id), "--ruling", "partial", "--evidence", "x", signer=accounts.merchant
        ),
        "is not vetted for this action (needs arbiter)",
    )
    ruled = cli.ok(
        "rule", str(sale_id), "--ruling", "partial", "--buyer-share-bps", "2500",
        "--evidence", "buckle replaced; 25% back", signer=accounts.arbiter,
    )  # fmt: skip
    assert "sale state      partially_refunded" in ruled.output

    buyer_credit = cli.ok("credits", "--address", accounts.owner.address)
    assert f"({PRICE_WEI // 4} wei)" in buyer_credit.output
    history = json.loads(cli.ok("history", item, "--json").output)
    kinds = [event["kind"] for event in history]
    for kind in ("listed", "purchased", "shipped", "dispute_opened", "evidence_submitted",
                 "dispute_ruled", "sale_settled"):  # fmt: skip
        assert kind in kinds


def test_market_refusals_are_one_red_line(
    cli: Cli, merchant_client: ProvenanceClient, accounts: DevAccounts
) -> None:
    item = _item(merchant_client, "CLI-MKT-3")
    assert_one_error_line(
        cli("list", item, "--price", "1.5", signer=accounts.merchant), "--price", "needs a unit"
    )
    assert_one_error_line(
        cli("list", item, "--price", "1eth", "--expires", "soon", signer=accounts.merchant),
        "--expires",
    )
    assert_one_error_line(
        cli("list", item, "--price", "1eth", signer=accounts.stranger), "does not own item"
    )
    assert_one_error_line(cli("buy", "42", signer=accounts.owner), "there is no listing 42")
    assert_one_error_line(cli("confirm", "7", signer=accounts.owner), "there is no sale 7")


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("1000", 1000),
        ("1.5eth", 1_500_000_000_000_000_000),
        ("1.5 ETH", 1_500_000_000_000_000_000),
        ("0.25ether", 250_000_000_000_000_000),
        ("2 gwei", 2_000_000_000),
        ("7wei", 7),
        (".5eth", 500_000_000_000_000_000),
    ],
)
def test_prices_are_wei_or_a_number_with_a_unit(text: str, wei: int) -> None:
    assert parse_price(text) == wei


@pytest.mark.parametrize("text", ["", "1.5", "0", "1e18", "1.5 btc", "0.0000000000000000001eth"])
def test_prices_that_are_not_whole_positive_wei_are_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_price(text)
    assert caught.value.field == "--price"


def test_durations_have_a_unit() -> None:
    assert parse_duration("30m", field="--expires") == 1800
    assert parse_duration("7d", field="--expires") == 7 * 86_400
    assert parse_duration("2W", field="--expires") == 14 * 86_400
    for bad in ("7", "0d", "1.5d", "tomorrow"):
        with pytest.raises(InputError):
            parse_duration(bad, field="--expires")


def test_deploy_adds_the_market_to_a_record_written_before_it(
    w3: Web3, accounts: DevAccounts, dev_keys: list[LocalAccount], tmp_path: Path
) -> None:
    old = deploy(w3=w3, admin=accounts.admin, base_uri="http://cli-old/", with_market=False)
    path = deployment_path(data_dir=tmp_path, chain_id=old.chain_id)
    save_deployment(deployment=old, path=path)
    cli = Cli(w3=w3, data_dir=tmp_path, dev_keys=dev_keys)
    assert_one_error_line(cli("sale", "1"), "no resale market", "provenance deploy")

    added = cli.ok("deploy", signer=accounts.admin)

    assert "Added the resale market" in added.output
    upgraded = load_deployment(path=path)
    assert upgraded.passport == old.passport and upgraded.market is not None
    assert upgraded.market in added.output
    assert "Already deployed" in cli.ok("deploy", signer=accounts.admin).output
