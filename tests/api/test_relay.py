"""``POST /relay``: owners' and buyers' own signed transactions, checked and simulated before
sending (messages the gateway pays for: test_relay_messages.py)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.artifacts import load_artifact
from ledger.hashing import hash_document
from ledger.market import MarketClient
from ledger.types import ItemStatus
from tests.api.conftest import Api, assert_error
from tests.conftest import DevAccounts

CHAIN_ID = 131277322940537  # eth-tester's


@pytest.fixture(scope="module")
def passport(api: Api) -> Any:
    address = api.client.get("/health").json()["contracts"]["passport"]
    return Web3().eth.contract(address=address, abi=load_artifact("ItemPassport")["abi"])


def _nonce(api: Api, account: LocalAccount) -> int:
    w3 = api.client.app.state.gateway.connection.w3  # type: ignore[attr-defined]
    return int(w3.eth.get_transaction_count(account.address))


def _sign(
    account: LocalAccount, to: str, data: str, *, nonce: int, chain_id: int = CHAIN_ID,
    gas: int = 200_000, value: int = 0,
) -> str:  # fmt: skip
    signed = account.sign_transaction(
        {
            "to": to,
            "data": data,
            "value": value,
            "gas": gas,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 10**9,
            "nonce": nonce,
            "chainId": chain_id,
        }
    )
    return "0x" + signed.raw_transaction.hex()


def _owned_item(api: Api, owner: LocalAccount) -> str:
    item_id: str = api.register(api.merchant, owner=owner.address)["item_id"]
    return item_id


def _flag_call(passport: Any, item_id: str) -> str:
    report = hash_document({"police": "PV-42"})
    data: str = passport.encode_abi("flag", [bytes.fromhex(item_id[2:]), ItemStatus.STOLEN,
                                             report])  # fmt: skip
    return data


def test_owner_flags_own_item_through_the_relay(
    api: Api, accounts: DevAccounts, passport: Any
) -> None:
    owner = accounts.owner
    item_id = _owned_item(api, owner)
    raw = _sign(owner, passport.address, _flag_call(passport, item_id), nonce=_nonce(api, owner))
    response = api.client.post("/relay", json={"raw_transaction": raw})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["sender"] == owner.address and result["to"] == passport.address
    assert result["block_number"] > 0
    assert api.client.get(f"/items/{item_id}").json()["status"] == "stolen"
    # Relaying the same transaction again returns its outcome and sends nothing.
    again = api.client.post("/relay", json={"raw_transaction": raw})
    assert again.status_code == 200 and again.json() == result


def test_refused_transactions_are_never_sent(
    api: Api, accounts: DevAccounts, passport: Any
) -> None:
    stranger = accounts.stranger
    item_id = _owned_item(api, accounts.owner)
    nonce = _nonce(api, stranger)
    raw = _sign(stranger, passport.address, _flag_call(passport, item_id), nonce=nonce)
    assert_error(api.client.post("/relay", json={"raw_transaction": raw}), 403,
                 "not_owner_nor_admin")  # fmt: skip
    assert _nonce(api, stranger) == nonce  # nothing was mined


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        ({"to": "0x" + "12" * 20}, 422, "not_our_contract"),
        ({"chain_id": 1}, 422, "wrong_chain"),
        ({"nonce_offset": -1}, 409, "nonce_too_low"),
        ({"nonce_offset": 5}, 409, "nonce_too_high"),
        ({"gas": 21_500}, 422, "gas_limit_too_low"),
    ],
)
def test_relay_checks(
    api: Api, accounts: DevAccounts, passport: Any, mutate: dict[str, Any], status: int, code: str
) -> None:
    owner = accounts.owner
    item_id = _owned_item(api, owner)
    if mutate.get("nonce_offset", 0) < 0:  # make sure a lower nonce exists
        api.client.post("/relay", json={"raw_transaction": _sign(
            owner, passport.address, _flag_call(passport, _owned_item(api, owner)),
            nonce=_nonce(api, owner))})  # fmt: skip
    raw = _sign(
        owner,
        mutate.get("to", passport.address),
        _flag_call(passport, item_id),
        nonce=_nonce(api, owner) + mutate.get("nonce_offset", 0),
        chain_id=mutate.get("chain_id", CHAIN_ID),
        gas=mutate.get("gas", 200_000),
    )
    assert_error(api.client.post("/relay", json={"raw_transaction": raw}), status, code)


@pytest.mark.parametrize("raw", ["0x", "0xdeadbeef", "nothex", "0x02" + "ff" * 40])
def test_malformed_transactions(api: Api, raw: str) -> None:
    response = api.client.post("/relay", json={"raw_transaction": raw})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("malformed_transaction", "too_short")


def test_buyer_relays_a_signed_buy_to_the_market_and_pays_the_price(api: Api) -> None:
    gateway = api.client.app.state.gateway  # type: ignore[attr-defined]
    w3 = gateway.connection.w3
    market = MarketClient(w3=w3, deployment=gateway.deployment)
    seller, buyer = EthAccount.create(), EthAccount.create()
    for account in (seller, buyer):
        gateway.faucet.top_up(account.address)  # they pay their own gas
    item_id = _owned_item(api, seller)
    price = 10**15
    expiry = market.chain_time() + 86_400
    listed = api.client.post("/relay", json={"raw_transaction": _sign(
        seller, market.market.address,
        market.market.encode_abi("list", [bytes.fromhex(item_id[2:]), price, expiry]), nonce=0,
    )})  # fmt: skip
    assert listed.status_code == 200, listed.text
    listing_id = market.info().listing_count
    balance = w3.eth.get_balance(buyer.address)
    raw = _sign(buyer, market.market.address, market.market.encode_abi("buy", [listing_id]),
                nonce=0, value=price)  # fmt: skip
    response = api.client.post("/relay", json={"raw_transaction": raw})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["kind"] == "raw_transaction" and result["to"] == market.market.address
    assert result["sender"] == result["signer"] == buyer.address
    sale = market.sale(market.info().sale_count)
    assert sale.buyer == buyer.address and sale.item_id.hex() == item_id[2:]
    assert w3.eth.get_balance(buyer.address) < balance - price  # the price and the gas
