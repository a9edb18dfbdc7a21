"""The replay matrix through the Python library: each owner-signed message works exactly once.

The contract tests (tests/contracts/test_market_signatures.py) sign with eth-account directly;
these go the way an application does: messages built by the clients (`build_permit`,
`build_transfer`, `build_order`), signed with `ledger.signatures`, submitted by a third party
that pays the gas (`ProvenanceClient.permit` / `transfer_by_sig`, `MarketClient.buy_order`).
Each row changes one thing and asserts the exact `LedgerError` subclass and its arguments, that
the refusal cost the submitter nothing (it was caught by simulation), and that the item is as it
was. A wrong signer is an attacker signing with eth-account directly: the library itself refuses
to sign a transfer or an order for someone else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount

from ledger import errors
from ledger.client import ProvenanceClient
from ledger.errors import ContractError, InputError
from ledger.relay import MessageRelayer, SponsorBudget, SponsorLimitReached
from ledger.signatures import (
    Eip712Domain,
    PermitMessage,
    TransferMessage,
    parse_signature,
    permit_typed_data,
    recover_signer,
    relay_body,
    sell_order_typed_data,
    sign_permit,
    sign_sell_order,
    sign_transfer,
    transfer_typed_data,
)
from ledger.types import ItemId, SellOrder, VoidReason
from tests.ledger.market_world import DAY, PRICE, World, world

__all__ = ["world"]  # the fixture, imported so pytest finds it

CASES = (
    "other-chain",
    "other-contract",
    "second-use",
    "after-deadline",
    "high-s-twin",
    "wrong-signer",
)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def high_s_twin(signature: bytes) -> bytes:
    """The malleable twin (r, n - s, flipped v): the same signer recovers from it."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])


@dataclasses.dataclass
class Attempt:
    """One signed message, ready to submit, and what its refusals must say."""

    submit: Callable[[], Any]
    submitter: LocalAccount
    deadline: int
    bad_signature: tuple[type[ContractError], dict[str, Any]]
    second_use: tuple[type[ContractError], dict[str, Any]]
    expired: tuple[type[ContractError], dict[str, Any]]
    used: Callable[[], bool]
    state: Callable[[], Any]


def _domain_for(case: str, domain: Eip712Domain, other_contract: str) -> Eip712Domain:
    if case == "other-chain":
        return dataclasses.replace(domain, chain_id=domain.chain_id + 1)
    if case == "other-contract":  # the same message for the other contract of the pair
        return dataclasses.replace(domain, verifying_contract=other_contract)  # type: ignore[arg-type]
    return domain


def _attacker_signature(account: LocalAccount, full_message: dict[str, Any]) -> bytes:
    return bytes(EthAccount.sign_typed_data(account.key, full_message=full_message).signature)


def _permit(w: World, case: str, item: ItemId) -> Attempt:
    accounts = w.accounts
    relayer = ProvenanceClient(w3=w.w3, deployment=w.passport.deployment, account=accounts.spare)
    permit = w.passport.build_permit(
        item_id=item, spender=accounts.stranger.address, deadline=w.now() + DAY
    )
    domain = _domain_for(case, w.passport.domain(), w.reader.market.address)
    if case == "wrong-signer":
        signature = _attacker_signature(accounts.stranger, permit_typed_data(domain, permit))
    else:
        signature = sign_permit(accounts.merchant, domain=domain, permit=permit)
    if case == "high-s-twin":
        signature = high_s_twin(signature)
    token = int.from_bytes(item, "big")
    refusal = (errors.InvalidSignature, {"itemId": item, "signer": accounts.merchant.address})
    return Attempt(
        submit=lambda: relayer.permit(permit=permit, signature=signature),
        submitter=accounts.spare,
        deadline=permit.deadline,
        bad_signature=refusal,
        second_use=refusal,  # the first use moved the item's nonce on
        expired=(errors.SignatureExpired, {"deadline": permit.deadline}),
        used=lambda: (
            w.passport.passport.functions.getApproved(token).call() == accounts.stranger.address
        ),
        state=lambda: (
            w.passport.item(item),
            w.passport.passport.functions.getApproved(token).call(),
        ),
    )


def _transfer(w: World, case: str, item: ItemId) -> Attempt:
    accounts = w.accounts
    relayer = ProvenanceClient(w3=w.w3, deployment=w.passport.deployment, account=accounts.spare)
    transfer = w.passport.build_transfer(
        item_id=item, to=accounts.owner.address, sale_ref={"order": "SO-1"}, deadline=w.now() + DAY
    )
    assert transfer.from_ == accounts.merchant.address  # the owner, read from the chain
    domain = _domain_for(case, w.passport.domain(), w.reader.market.address)
    if case == "wrong-signer":
        signature = _attacker_signature(accounts.stranger, transfer_typed_data(domain, transfer))
    else:
        signature = sign_transfer(accounts.merchant, domain=domain, transfer=transfer)
    if case == "high-s-twin":
        signature = high_s_twin(signature)
    refusal = (errors.InvalidSignature, {"itemId": item, "signer": accounts.merchant.address})
    return Attempt(
        submit=lambda: relayer.transfer_by_sig(transfer=transfer, signature=signature),
        submitter=accounts.spare,
        deadline=transfer.deadline,
        bad_signature=refusal,
        second_use=refusal,
        expired=(errors.SignatureExpired, {"deadline": transfer.deadline}),
        used=lambda: w.passport.item(item).owner == accounts.owner.address,
        state=lambda: w.passport.item(item),
    )


def _order(w: World, case: str, item: ItemId) -> Attempt:
    accounts = w.accounts
    order = w.seller.build_order(item_id=item, price=PRICE, expiry=w.now() + DAY)
    domain = _domain_for(case, w.seller.domain(), w.passport.passport.address)
    if case == "wrong-signer":
        signature = _attacker_signature(accounts.stranger, sell_order_typed_data(domain, order))
    else:
        signature = sign_sell_order(accounts.merchant, domain=domain, order=order)
    if case == "high-s-twin":
        signature = high_s_twin(signature)
    order_hash = w.seller.order_hash(order)
    return Attempt(
        submit=lambda: w.buyer.buy_order(order=order, signature=signature),
        submitter=accounts.owner,
        deadline=order.expiry,
        bad_signature=(
            errors.InvalidOrderSignature,
            {"orderHash": order_hash, "seller": accounts.merchant.address},
        ),
        second_use=(errors.OrderVoid, {"orderHash": order_hash, "reason": VoidReason.FILLED}),
        expired=(errors.OrderVoid, {"orderHash": order_hash, "reason": VoidReason.EXPIRED}),
        used=lambda: w.passport.item(item).locked,
        state=lambda: (w.passport.item(item), w.reader.order_status(order), w.reader.info()),
    )


SCHEMES: dict[str, Callable[[World, str, ItemId], Attempt]] = {
    "permit": _permit,
    "transfer-by-sig": _transfer,
    "sell-order": _order,
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_replay_matrix_refuses_with_the_exact_error_and_costs_nothing(
    world: World, scheme: str, case: str
) -> None:
    item = world.item(f"RP-{scheme}-{case}")
    attempt = SCHEMES[scheme](world, case, item)
    error, arguments = attempt.bad_signature
    if case == "second-use":
        attempt.submit()  # the genuine signature works once...
        assert attempt.used()
        error, arguments = attempt.second_use
    elif case == "after-deadline":
        world.travel(DAY + 60)
        error, arguments = attempt.expired
    before = (attempt.state(), world.nonce(attempt.submitter))

    with pytest.raises(ContractError) as caught:
        attempt.submit()

    assert type(caught.value) is error, f"{caught.value!r} is not {error.__name__}"
    assert caught.value.arguments == arguments
    assert (attempt.state(), world.nonce(attempt.submitter)) == before  # simulated, not sent
    if case != "second-use":
        assert not attempt.used()


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_a_genuine_signature_is_accepted_from_a_third_party_exactly_once(
    world: World, scheme: str
) -> None:
    item = world.item(f"RP-once-{scheme}")
    attempt = SCHEMES[scheme](world, "genuine", item)
    assert not attempt.used()
    attempt.submit()
    assert attempt.used()
    with pytest.raises(attempt.second_use[0]):
        attempt.submit()


def test_a_wallet_signature_with_v_0_or_1_is_the_same_signature(world: World) -> None:
    item = world.item("RP-V01")
    permit = world.passport.build_permit(
        item_id=item, spender=world.accounts.stranger.address, deadline=world.now() + DAY
    )
    signature = world.passport.sign_permit(permit)
    as_v01 = signature[:64] + bytes([signature[64] - 27])
    assert parse_signature("0x" + as_v01.hex()) == signature
    world.passport.permit(permit=permit, signature=as_v01)
    token = int.from_bytes(item, "big")
    assert world.passport.passport.functions.getApproved(token).call() == (
        world.accounts.stranger.address
    )


def test_recover_signer_names_the_signer_and_refuses_the_high_s_twin(world: World) -> None:
    item = world.item("RP-RECOVER")
    transfer = world.passport.build_transfer(
        item_id=item, to=world.accounts.owner.address, deadline=world.now() + DAY
    )
    full = transfer_typed_data(world.passport.domain(), transfer)
    signature = world.passport.sign_transfer(transfer)
    assert recover_signer(full, signature) == world.accounts.merchant.address
    with pytest.raises(InputError, match="high s"):
        recover_signer(full, high_s_twin(signature))
    with pytest.raises(InputError) as caught:
        parse_signature(signature[:64])
    assert caught.value.field == "signature"


def test_domains_are_read_from_the_contracts_and_match_their_separators(world: World) -> None:
    passport_domain = world.passport.domain()
    market_domain = world.seller.domain()
    assert (passport_domain.name, passport_domain.version) == ("Provenance Item Passport", "1")
    assert (market_domain.name, market_domain.version) == ("Provenance Resale Market", "1")
    assert passport_domain.chain_id == market_domain.chain_id == world.w3.eth.chain_id
    assert passport_domain.verifying_contract == world.passport.passport.address
    assert market_domain.verifying_contract == world.reader.market.address
    assert passport_domain.separator == world.passport.passport.functions.DOMAIN_SEPARATOR().call()
    assert market_domain.separator == world.reader.market.functions.DOMAIN_SEPARATOR().call()


def test_messages_survive_json_as_a_gateway_receives_them(world: World) -> None:
    item = world.item("RP-JSON")
    permit = world.passport.build_permit(
        item_id=item, spender=world.accounts.stranger.address, deadline=world.now() + DAY
    )
    assert PermitMessage.from_json(permit.to_json()) == permit
    transfer = world.passport.build_transfer(
        item_id=item, to=world.accounts.owner.address, sale_ref="0x" + "ab" * 32, deadline=2**40
    )
    assert TransferMessage.from_json(transfer.to_json()) == transfer
    with pytest.raises(InputError) as caught:
        TransferMessage.from_json({**transfer.to_json(), "to": "0x1234"})
    assert caught.value.field == "to"
    with pytest.raises(InputError) as caught:
        PermitMessage.from_json({k: v for k, v in permit.to_json().items() if k != "deadline"})
    assert caught.value.field == "deadline"
    order = SellOrder(
        item_id=item,
        seller=world.accounts.merchant.address,
        price=PRICE,
        expiry=2**40,
        item_nonce=0,
        counter=0,
    )
    # A typed-data document for a wallet: bytes as hex, the domain, the primary type.
    full = sell_order_typed_data(world.seller.domain(), order)
    assert full["primaryType"] == "SellOrder"
    assert full["message"]["itemId"] == "0x" + bytes(item).hex()
    assert (
        world.seller.order_hash(order)
        == world.reader.market.functions.hashOrder(order.as_tuple()).call()
    )


def test_message_relayer_submits_from_the_sponsor_and_names_the_signer(world: World) -> None:
    # merchant owns the item and signs; the admin sponsors; the relay body round-trips.
    item = world.item("RP-RELAYER")
    admin = world.admin
    sponsor = ProvenanceClient(
        w3=world.w3, deployment=admin.deployment, account=admin.account, sender=admin.sender
    )
    relayer = MessageRelayer(sponsor=sponsor)
    permit = world.passport.build_permit(
        item_id=item, spender=world.accounts.stranger.address, deadline=world.now() + DAY
    )
    body = relay_body(permit, world.passport.sign_permit(permit))
    assert set(body) == {"permit"}
    signed = PermitMessage.from_json(body["permit"])
    merchant_nonce = world.nonce(world.accounts.merchant)
    relayed = relayer.relay(signed, body["permit"]["signature"])
    assert (relayed.kind, relayed.signer) == ("permit", world.accounts.merchant.address)
    assert (relayed.sponsor, relayed.to) == (
        world.accounts.admin.address,
        world.passport.passport.address,
    )
    transfer = world.passport.build_transfer(
        item_id=item, to=world.accounts.owner.address, deadline=world.now() + DAY
    )
    signature = world.passport.sign_transfer(transfer)
    relayed = relayer.relay(
        TransferMessage.from_json(relay_body(transfer, signature)["transfer"]), signature
    )
    assert (relayed.kind, relayed.signer) == ("transfer", world.accounts.merchant.address)
    assert world.passport.item(item).owner == world.accounts.owner.address
    assert world.nonce(world.accounts.merchant) == merchant_nonce  # the signer sent nothing
    with pytest.raises(errors.InvalidSignature):
        relayer.relay(transfer, signature)
    with pytest.raises(InputError) as caught:
        relayer.relay(transfer, signature[:64])
    assert caught.value.field == "signature"


# ---------------------------------------------------------------------- the sponsor's budget


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sponsor_budget_counts_per_signer_and_in_all_over_a_sliding_window() -> None:
    clock = _Clock()
    budget = SponsorBudget(per_signer=2, total=3, window=60, clock=clock)
    budget.take("alice")
    clock.now += 10
    budget.take("alice")
    with pytest.raises(SponsorLimitReached) as caught:
        budget.take("alice")
    assert caught.value.code == "sponsor_limit_reached"
    assert caught.value.retry_after == 50  # alice's first slot frees up at 1060
    budget.take("bob")
    with pytest.raises(SponsorLimitReached):
        budget.take("carol")  # three in all
    clock.now = 1060.0
    budget.take("alice")  # her first slot expired, and with it one of the three


def test_a_slot_given_back_is_free_again() -> None:
    budget = SponsorBudget(per_signer=1, total=1, window=60, clock=_Clock())
    ticket = budget.take("alice")
    budget.give_back("alice", ticket)
    budget.take("alice")
    with pytest.raises(SponsorLimitReached):
        budget.take("bob")
