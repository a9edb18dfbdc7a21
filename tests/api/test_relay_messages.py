"""``POST /relay`` with owner-signed EIP-712 messages: the owner signs, the gateway pays the gas.

Owners here are fresh eth-account keys holding no ether at all, so "the owner paid nothing" is
their balance staying zero. Every refusal must carry the contract's exact error code and leave
the sponsor's (the admin's) transaction count unchanged: it was caught by simulation.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner
from web3 import Web3

from api.state import Gateway
from ledger.artifacts import load_artifact
from ledger.chain import Connection
from ledger.cli import app
from ledger.config import deployment_path
from ledger.deploy import save_deployment
from ledger.relay import SponsorBudget
from ledger.signatures import (
    Eip712Domain,
    PermitMessage,
    TransferMessage,
    permit_typed_data,
    relay_body,
    sign_permit,
    sign_transfer,
    transfer_typed_data,
)
from ledger.types import ItemId
from tests.api.conftest import Api, assert_error
from tests.ledger.test_cli import CLEAN_ENV

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HOUR = 3600


def high_s_twin(signature: bytes) -> bytes:
    """(r, n - s, flipped v): recovers the same signer, so the contracts must refuse it."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])


@dataclasses.dataclass
class Chain:
    api: Api
    gateway: Gateway
    w3: Web3
    passport: Any
    domain: Eip712Domain

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def sponsor_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self.gateway.admin.address))

    def owned_item(self, owner: LocalAccount) -> ItemId:
        item = self.api.register(self.api.merchant, owner=owner.address)["item_id"]
        return ItemId(bytes.fromhex(item[2:]))

    def transfer(self, owner: LocalAccount, item: ItemId, to: str, **kw: Any) -> TransferMessage:
        deadline = kw.pop("deadline", self.now() + HOUR)
        return self.gateway.reader.build_transfer(
            item_id=item, to=to, deadline=deadline, owner=owner.address, **kw
        )

    def permit(self, item: ItemId, spender: str, *, deadline: int | None = None) -> PermitMessage:
        return self.gateway.reader.build_permit(
            item_id=item, spender=spender, deadline=deadline or self.now() + HOUR
        )

    def relay(self, body: dict[str, Any], **kw: Any) -> Any:
        return self.api.client.post("/relay", json=body, **kw)

    def approved(self, item: ItemId) -> str:
        return str(self.passport.functions.getApproved(int.from_bytes(item, "big")).call())


@pytest.fixture(scope="module")
def chain(api: Api) -> Chain:
    gateway: Gateway = api.client.app.state.gateway  # type: ignore[attr-defined]
    w3 = gateway.connection.w3
    passport = w3.eth.contract(
        address=gateway.deployment.passport, abi=load_artifact("ItemPassport")["abi"]
    )
    return Chain(api, gateway, w3, passport, gateway.reader.domain())


def _hex(item: ItemId) -> str:
    return "0x" + bytes(item).hex()


@dataclasses.dataclass
class Moved:
    owner: LocalAccount
    buyer: LocalAccount
    item: ItemId
    body: dict[str, Any]
    response: dict[str, Any]
    sponsor_nonce: int


@pytest.fixture(scope="module")
def moved(chain: Chain) -> Moved:
    """One item its owner moved with a signed transfer the gateway relayed."""
    owner, buyer = EthAccount.create(), EthAccount.create()
    item = chain.owned_item(owner)
    transfer = chain.transfer(owner, item, buyer.address, sale_ref={"order": "R-1"})
    body = relay_body(transfer, sign_transfer(owner, domain=chain.domain, transfer=transfer))
    response = chain.relay(body)
    assert response.status_code == 200, response.text
    return Moved(owner, buyer, item, body, response.json(), chain.sponsor_nonce())


def test_relayed_transfer_moves_the_item_and_the_owner_pays_no_gas(
    chain: Chain, moved: Moved
) -> None:
    result = moved.response
    assert result["kind"] == "transfer"
    assert result["signer"] == moved.owner.address
    assert result["sender"] == chain.gateway.admin.address  # the sponsor paid
    assert result["to"] == chain.gateway.deployment.passport
    assert result["block_number"] > 0 and result["gas_used"] > 0
    item = chain.api.client.get(f"/items/{_hex(moved.item)}").json()
    assert item["owner"] == moved.buyer.address
    events = chain.api.client.get(f"/items/{_hex(moved.item)}/history").json()["events"]
    assert [e["kind"] for e in events] == ["registered", "transferred", "sale_recorded"]
    assert events[1]["tx_hash"] == result["tx_hash"]
    assert chain.w3.eth.get_balance(moved.owner.address) == 0
    assert chain.w3.eth.get_transaction_count(moved.owner.address) == 0


def test_the_same_signed_transfer_is_refused_the_second_time_and_not_sent(
    chain: Chain, moved: Moved
) -> None:
    # The item's nonce moved on with the transfer, so the signature no longer matches.
    assert_error(chain.relay(moved.body), 403, "invalid_signature")
    assert chain.sponsor_nonce() == moved.sponsor_nonce
    assert chain.api.client.get(f"/items/{_hex(moved.item)}").json()["owner"] == (
        moved.buyer.address
    )


def _signed(
    chain: Chain, owner: LocalAccount, message: TransferMessage, domain: Eip712Domain
) -> bytes:
    full = transfer_typed_data(domain, message)
    return bytes(owner.sign_typed_data(full_message=full).signature)


@dataclasses.dataclass
class Held:
    owner: LocalAccount
    item: ItemId


@pytest.fixture(scope="module")
def held(chain: Chain) -> Held:
    """An item its owner keeps: every transfer attempt on it is refused."""
    owner = EthAccount.create()
    return Held(owner, chain.owned_item(owner))


def _other_chain(chain: Chain, held: Held, msg: TransferMessage) -> bytes:
    domain = dataclasses.replace(chain.domain, chain_id=chain.domain.chain_id + 1)
    return _signed(chain, held.owner, msg, domain)


def _other_contract(chain: Chain, held: Held, msg: TransferMessage) -> bytes:
    market = chain.gateway.deployment.market
    assert market is not None
    return _signed(
        chain, held.owner, msg, dataclasses.replace(chain.domain, verifying_contract=market)
    )


def _wrong_signer(chain: Chain, held: Held, msg: TransferMessage) -> bytes:
    return _signed(chain, EthAccount.create(), msg, chain.domain)


def _high_s(chain: Chain, held: Held, msg: TransferMessage) -> bytes:
    return high_s_twin(_signed(chain, held.owner, msg, chain.domain))


def _stale_nonce(chain: Chain, held: Held, msg: TransferMessage) -> bytes:
    return _signed(chain, held.owner, dataclasses.replace(msg, nonce=msg.nonce + 1), chain.domain)


@pytest.mark.parametrize(
    "forge",
    [_other_chain, _other_contract, _wrong_signer, _high_s, _stale_nonce],
    ids=["other-chain", "other-contract", "wrong-signer", "high-s-twin", "other-nonce"],
)
def test_forged_transfer_signatures_are_refused_and_cost_nothing(
    chain: Chain, held: Held, forge: Callable[[Chain, Held, TransferMessage], bytes]
) -> None:
    message = chain.transfer(held.owner, held.item, EthAccount.create().address)
    before = chain.sponsor_nonce()
    error = assert_error(
        chain.relay(relay_body(message, forge(chain, held, message))), 403, "invalid_signature"
    )
    assert held.owner.address in error["message"]
    assert chain.sponsor_nonce() == before
    assert chain.api.client.get(f"/items/{_hex(held.item)}").json()["owner"] == held.owner.address


def test_expired_transfer_is_refused_with_the_contract_code(chain: Chain, held: Held) -> None:
    message = chain.transfer(
        held.owner, held.item, EthAccount.create().address, deadline=chain.now() - 1
    )
    signature = sign_transfer(held.owner, domain=chain.domain, transfer=message)
    before = chain.sponsor_nonce()
    assert_error(chain.relay(relay_body(message, signature)), 422, "signature_expired")
    assert chain.sponsor_nonce() == before


def test_signature_with_an_impossible_v_is_the_contracts_refusal_not_a_crash(
    chain: Chain, held: Held
) -> None:
    message = chain.transfer(held.owner, held.item, EthAccount.create().address)
    genuine = sign_transfer(held.owner, domain=chain.domain, transfer=message)
    assert_error(chain.relay(relay_body(message, genuine[:64] + b"\x05")), 403, "invalid_signature")


def test_relayed_permit_approves_the_spender_and_dies_when_the_item_moves(chain: Chain) -> None:
    owner, spender, later = EthAccount.create(), EthAccount.create(), EthAccount.create()
    item = chain.owned_item(owner)
    permit = chain.permit(item, spender.address)
    response = chain.relay(
        relay_body(permit, sign_permit(owner, domain=chain.domain, permit=permit))
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["kind"] == "permit" and result["signer"] == owner.address
    assert result["sender"] == chain.gateway.admin.address
    assert chain.approved(item) == spender.address
    assert chain.w3.eth.get_balance(owner.address) == 0

    # A second permit signed now, then the item moves: the permit is dead.
    unused = chain.permit(item, later.address)
    unused_body = relay_body(unused, sign_permit(owner, domain=chain.domain, permit=unused))
    transfer = chain.transfer(owner, item, spender.address)
    moved = chain.relay(
        relay_body(transfer, sign_transfer(owner, domain=chain.domain, transfer=transfer))
    )
    assert moved.status_code == 200, moved.text
    assert chain.approved(item) == "0x" + "00" * 20  # a transfer clears the approval
    before = chain.sponsor_nonce()
    assert_error(chain.relay(unused_body), 403, "invalid_signature")
    assert chain.sponsor_nonce() == before
    assert chain.approved(item) == "0x" + "00" * 20


def test_permit_replay_and_expiry_are_refused(chain: Chain) -> None:
    owner, spender = EthAccount.create(), EthAccount.create()
    item = chain.owned_item(owner)
    expired = chain.permit(item, spender.address, deadline=chain.now() - 1)
    assert_error(
        chain.relay(relay_body(expired, sign_permit(owner, domain=chain.domain, permit=expired))),
        422,
        "signature_expired",
    )
    permit = chain.permit(item, spender.address, deadline=2**256 - 1)  # "never expires"
    body = relay_body(permit, sign_permit(owner, domain=chain.domain, permit=permit))
    assert chain.relay(body).status_code == 200
    before = chain.sponsor_nonce()
    assert_error(chain.relay(body), 403, "invalid_signature")
    twin = relay_body(
        permit,
        high_s_twin(
            bytes(
                owner.sign_typed_data(
                    full_message=permit_typed_data(chain.domain, permit)
                ).signature
            )
        ),
    )
    assert_error(chain.relay(twin), 403, "invalid_signature")
    assert chain.sponsor_nonce() == before


def test_message_relays_honour_idempotency_keys_and_wait_false(chain: Chain) -> None:
    owner = EthAccount.create()
    item = chain.owned_item(owner)
    transfer = chain.transfer(owner, item, EthAccount.create().address)
    body = relay_body(transfer, sign_transfer(owner, domain=chain.domain, transfer=transfer))
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    accepted = chain.api.client.post("/relay?wait=false", json=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    status_url = accepted.json()["status_url"]
    for _ in range(100):
        status = chain.api.client.get(status_url).json()
        if status["status"] != "pending":
            break
        time.sleep(0.05)
    assert status["status"] == "mined", status
    assert status["result"]["kind"] == "transfer" and status["result"]["signer"] == owner.address
    # The same key replays the first answer; without it, the used signature is refused.
    replay = chain.api.client.post("/relay?wait=false", json=body, headers=headers)
    assert replay.status_code == 202 and replay.json() == accepted.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert_error(chain.relay(body), 403, "invalid_signature")


# ---------------------------------------------------------------------- request shape


def _transfer_json(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from": "0x" + "11" * 20,
        "to": "0x" + "22" * 20,
        "item_id": "0x" + "33" * 32,
        "nonce": 0,
        "deadline": 2**40,
        "signature": "0x" + "44" * 64 + "1b",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _permit_json(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "spender": "0x" + "11" * 20,
        "item_id": "0x" + "33" * 32,
        "nonce": 0,
        "deadline": 2**40,
        "signature": "0x" + "44" * 64 + "1b",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_field", "raw_transaction"),
        ({"raw_transaction": "0x1234", "transfer": _transfer_json()}, "conflicting_fields",
         "transfer"),
        ({"transfer": _transfer_json(), "permit": _permit_json()}, "conflicting_fields", "permit"),
        ({"transfer": None}, "invalid_type", "transfer"),
        ({"transfer": _transfer_json(signature="0x" + "zz" * 65)}, "malformed_signature",
         "transfer.signature"),
        ({"transfer": _transfer_json(signature="0x1234")}, "malformed_signature",
         "transfer.signature"),
        ({"transfer": _transfer_json(signature="0x" + "44 " * 64 + "1b")}, "malformed_signature",
         "transfer.signature"),
        ({"transfer": _transfer_json(deadline=None)}, "missing_field", "transfer.deadline"),
        ({"transfer": _transfer_json(deadline="123")}, "invalid_type", "transfer.deadline"),
        ({"transfer": _transfer_json(deadline=1.5)}, "invalid_type", "transfer.deadline"),
        ({"transfer": _transfer_json(nonce=True)}, "invalid_type", "transfer.nonce"),
        ({"transfer": _transfer_json(nonce=2**256)}, "out_of_range", "transfer.nonce"),
        ({"transfer": _transfer_json(sale_ref="0x12")}, "invalid_sale_ref", "transfer.sale_ref"),
        ({"transfer": _transfer_json(**{"from": "0x12"})}, "invalid_address", "transfer.from"),
        ({"permit": _permit_json(signature="0x")}, "malformed_signature", "permit.signature"),
        ({"permit": _permit_json(item_id=None)}, "missing_field", "permit.item_id"),
        ({"permit": _permit_json(owner="0x" + "11" * 20)}, "unknown_field", "permit.owner"),
    ],
)  # fmt: skip
def test_request_shape_errors_name_the_field(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    assert_error(api.client.post("/relay", json=body), 422, code, field)


# ---------------------------------------------------------------------- the CLI signs, we relay


def test_cli_signed_transfer_and_permit_relay_as_printed(chain: Chain, tmp_path: Path) -> None:
    owner, spender, buyer = EthAccount.create(), EthAccount.create(), EthAccount.create()
    item = chain.owned_item(owner)
    deployment = chain.gateway.deployment
    save_deployment(
        deployment=deployment,
        path=deployment_path(data_dir=tmp_path, chain_id=deployment.chain_id),
    )
    env = {**CLEAN_ENV, "PROVENANCE_PRIVATE_KEY": "0x" + bytes(owner.key).hex()}

    def provenance(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(
            app, ["--data-dir", str(tmp_path), *args], obj=Connection(w3=chain.w3), env=env
        )
        assert result.exit_code == 0, result.output
        body: dict[str, Any] = json.loads(result.output)
        return body

    permit = provenance("sign-permit", _hex(item), "--spender", spender.address, "--expires", "2h")
    assert set(permit) == {"permit"} and permit["permit"]["spender"] == spender.address
    assert chain.relay(permit).json()["signer"] == owner.address
    assert chain.approved(item) == spender.address
    transfer = provenance("sign-transfer", _hex(item), "--to", buyer.address)
    assert transfer["transfer"]["from"] == owner.address
    response = chain.relay(transfer)
    assert response.status_code == 200, response.text
    assert chain.api.client.get(f"/items/{_hex(item)}").json()["owner"] == buyer.address
    assert chain.w3.eth.get_balance(owner.address) == 0


# ---------------------------------------------------------------------- the sponsor's budget


def test_the_gateway_stops_paying_for_a_signer_past_its_budget_and_says_when_to_retry(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chain.gateway, "sponsor_budget", SponsorBudget(per_signer=2, total=100))
    owner, spender = EthAccount.create(), EthAccount.create()
    item = chain.owned_item(owner)

    def signed_permit() -> dict[str, Any]:
        permit = chain.permit(item, spender.address)
        return relay_body(permit, sign_permit(owner, domain=chain.domain, permit=permit))

    for _ in range(2):
        assert chain.relay(signed_permit()).status_code == 200
    nonce = chain.sponsor_nonce()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = signed_permit()
    refused = chain.relay(body, headers=key)
    assert_error(refused, 429, "sponsor_limit_reached")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert chain.sponsor_nonce() == nonce  # nothing was sent

    # "Not now" is not the request's outcome: once the budget allows, the same key runs again.
    monkeypatch.setattr(chain.gateway, "sponsor_budget", SponsorBudget(per_signer=2, total=100))
    retried = chain.relay(body, headers=key)
    assert retried.status_code == 200, retried.text
    assert "Idempotent-Replayed" not in retried.headers


def test_a_refused_message_costs_its_named_signer_no_budget(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chain.gateway, "sponsor_budget", SponsorBudget(per_signer=1, total=100))
    owner, forger, buyer = EthAccount.create(), EthAccount.create(), EthAccount.create()
    item = chain.owned_item(owner)
    transfer = chain.transfer(owner, item, buyer.address)
    # The owner's signature over another message, passed off as this one's.
    decoy = chain.transfer(owner, item, forger.address)
    forged = relay_body(transfer, sign_transfer(owner, domain=chain.domain, transfer=decoy))
    assert_error(chain.relay(forged), 403, "invalid_signature")
    genuine = relay_body(transfer, sign_transfer(owner, domain=chain.domain, transfer=transfer))
    assert chain.relay(genuine).status_code == 200
