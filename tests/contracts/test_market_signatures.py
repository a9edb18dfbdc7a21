"""Replay matrix for the three signed messages: ERC-4494 `permit`, `transferBySig`, `SellOrder`.

Each is EIP-712 bound to a chain id, a verifying contract and a nonce, and has a deadline; the
signature must be the owner's (ECDSA via OpenZeppelin, which refuses high-s twins). Every row
signs with `eth_account` exactly as a wallet would, changes one thing, and checks the exact
error. The valid baseline of each message is checked first, so a refusal is never an accident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.contract.contract import ContractFunction

from ledger.errors import (
    InvalidOrderSignature,
    InvalidSignature,
    ItemIsFlagged,
    ItemIsLocked,
    ItemIsRetired,
    ItemNotRegistered,
    OrderVoid,
    SignatureExpired,
    TransferFromIncorrectOwner,
)
from ledger.hashing import hash_document
from ledger.types import ItemStatus, RetirementKind
from tests.contracts.conftest_market import (
    DAY,
    PRICE,
    SECP256K1_N,
    MarketWorld,
    VoidReason,
    as_tuple,
    high_s_twin,
    market,
    permit_types,
    transfer_types,
)
from tests.contracts.helpers import view

__all__ = ["market"]  # the fixture, imported so pytest finds it

SALE_REF = hash_document({"order": "SO-2001"})
CASES = (
    "other-chain",
    "other-contract",
    "second-use",
    "after-deadline",
    "high-s-twin",
    "wrong-signer",
)


@dataclass
class Signed:
    """One signed message ready to submit, and what a refusal of it names."""

    fn: ContractFunction
    value: int
    deadline: int
    refusal: tuple[Any, dict[str, Any]]
    """(error, arguments) for a bad signature."""


def _variant(w: MarketWorld, case: str) -> dict[str, Any]:
    if case == "other-chain":
        return {"chain_id": w.chain_id + 1}
    if case == "other-contract":
        # The same message signed for another deployment (the other contract of the pair).
        return {"other_contract": True}
    if case == "wrong-signer":
        return {"signer": w.stranger}
    return {}


def _permit(
    w: MarketWorld,
    *,
    chain_id: int | None = None,
    other_contract: bool = False,
    signer: LocalAccount | None = None,
    twin: bool = False,
) -> Signed:
    token = int.from_bytes(w.items.spare)
    deadline = w.next_timestamp() + DAY
    message = {
        "spender": w.stranger.address,
        "tokenId": token,
        "nonce": w.item_nonce(w.items.spare),
        "deadline": deadline,
    }
    sig = w.sign_passport(
        permit_types(),
        message,
        signer or w.seller,
        chain_id=chain_id,
        verifying_contract=w.market.address if other_contract else None,
    )
    if twin:
        sig = high_s_twin(sig)
    return Signed(
        fn=w.passport.functions.permit(w.stranger.address, token, deadline, sig),
        value=0,
        deadline=deadline,
        refusal=(InvalidSignature, {"itemId": w.items.spare, "signer": w.seller}),
    )


def _transfer(
    w: MarketWorld,
    *,
    chain_id: int | None = None,
    other_contract: bool = False,
    signer: LocalAccount | None = None,
    twin: bool = False,
) -> Signed:
    deadline = w.next_timestamp() + DAY
    message = {
        "from": w.seller.address,
        "to": w.buyer.address,
        "itemId": w.items.spare,
        "saleRef": SALE_REF,
        "nonce": w.item_nonce(w.items.spare),
        "deadline": deadline,
    }
    sig = w.sign_passport(
        transfer_types(),
        message,
        signer or w.seller,
        chain_id=chain_id,
        verifying_contract=w.market.address if other_contract else None,
    )
    if twin:
        sig = high_s_twin(sig)
    fn = w.passport.functions.transferBySig(
        w.seller.address, w.buyer.address, w.items.spare, SALE_REF, deadline, sig
    )
    return Signed(
        fn=fn,
        value=0,
        deadline=deadline,
        refusal=(InvalidSignature, {"itemId": w.items.spare, "signer": w.seller}),
    )


def _order(
    w: MarketWorld,
    *,
    chain_id: int | None = None,
    other_contract: bool = False,
    signer: LocalAccount | None = None,
    twin: bool = False,
) -> Signed:
    order = w.order(w.items.spare, expiry=w.next_timestamp() + DAY)
    sig = w.sign_order(
        order,
        signer,
        chain_id=chain_id,
        verifying_contract=w.passport.address if other_contract else None,
    )
    if twin:
        sig = high_s_twin(sig)
    order_hash = view(w.market.functions.hashOrder(as_tuple(order)))
    return Signed(
        fn=w.market.functions.buyOrder(as_tuple(order), sig),
        value=PRICE,
        deadline=order["expiry"],
        refusal=(InvalidOrderSignature, {"orderHash": order_hash, "seller": w.seller}),
    )


SCHEMES: dict[str, Callable[..., Signed]] = {
    "permit": _permit,
    "transferBySig": _transfer,
    "sellOrder": _order,
}


def _second_use_error(w: MarketWorld, scheme: str, signed: Signed) -> tuple[Any, dict[str, Any]]:
    if scheme == "sellOrder":
        order_hash = signed.refusal[1]["orderHash"]
        return OrderVoid, {"orderHash": order_hash, "reason": VoidReason.FILLED}
    # The first use moved the item's nonce on, so the digest no longer matches.
    return signed.refusal


def _expired_error(scheme: str, signed: Signed) -> tuple[Any, dict[str, Any]]:
    if scheme == "sellOrder":
        order_hash = signed.refusal[1]["orderHash"]
        return OrderVoid, {"orderHash": order_hash, "reason": VoidReason.EXPIRED}
    return SignatureExpired, {"deadline": signed.deadline}


def _check_used(w: MarketWorld, scheme: str, before_nonce: int) -> None:
    item = w.item(w.items.spare)
    if scheme == "permit":
        assert view(w.passport.functions.getApproved(int.from_bytes(w.items.spare))) == (
            w.stranger.address
        )
        assert item["owner"] == w.seller.address
    elif scheme == "transferBySig":
        assert item["owner"] == w.buyer.address
    else:
        assert item["locked"] is True
    assert item["transferNonce"] == before_nonce + (0 if scheme == "sellOrder" else 1)


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_valid_signature_is_accepted_from_any_submitter(market: MarketWorld, scheme: str) -> None:
    w = market
    nonce = w.item_nonce(w.items.spare)
    signed = SCHEMES[scheme](w)
    w.at(signed.deadline)  # the deadline itself is still in time
    receipt = w.send(signed.fn, w.buyer, value=signed.value)
    _check_used(w, scheme, nonce)
    if scheme == "permit":
        assert w.event(receipt, "Approval", w.passport)["account"] == w.stranger.address
    if scheme == "transferBySig":
        assert w.event(receipt, "SaleRecorded", w.passport) == {
            "itemId": w.items.spare,
            "from": w.seller.address,
            "to": w.buyer.address,
            "saleRef": SALE_REF,
        }


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_replay_matrix(market: MarketWorld, scheme: str, case: str) -> None:
    w = market
    make = SCHEMES[scheme]
    signed = make(w, twin=case == "high-s-twin", **_variant(w, case))
    error, args = signed.refusal
    if case == "second-use":
        w.send(signed.fn, w.buyer, value=signed.value)
        error, args = _second_use_error(w, scheme, signed)
    elif case == "after-deadline":
        w.at(signed.deadline + 1)
        error, args = _expired_error(scheme, signed)
    before = w.snapshot(items=(w.items.spare,))
    approved = view(w.passport.functions.getApproved(int.from_bytes(w.items.spare)))
    w.refused(signed.fn, w.stranger, error, value=signed.value, **args)
    assert w.snapshot(items=(w.items.spare,)) == before
    assert view(w.passport.functions.getApproved(int.from_bytes(w.items.spare))) == approved


def test_high_s_twin_is_the_same_signer(market: MarketWorld) -> None:
    """The twin really is a valid secp256k1 signature of the same key: only the s-check stops it."""
    from eth_keys import keys

    w = market
    digest = keccak(text="anything")
    sig = w.seller.unsafe_sign_hash(digest).signature
    twin = high_s_twin(bytes(sig))
    assert int.from_bytes(twin[32:64]) > SECP256K1_N // 2
    vrs = (twin[64] - 27, int.from_bytes(twin[:32]), int.from_bytes(twin[32:64]))
    public_key = keys.Signature(vrs=vrs).recover_public_key_from_msg_hash(digest)
    assert public_key.to_checksum_address() == w.seller.address


def test_permit_dies_when_the_item_moves(market: MarketWorld) -> None:
    w = market
    signed = _permit(w)
    token = int.from_bytes(w.items.spare)
    fn = w.passport.functions
    w.send(fn.transferFrom(w.seller.address, w.buyer.address, token), w.seller)
    w.send(fn.transferFrom(w.buyer.address, w.seller.address, token), w.buyer)
    error, args = signed.refusal
    w.refused(signed.fn, w.stranger, error, **args)


def test_permit_cannot_be_replayed_after_the_owner_revokes_the_approval(
    market: MarketWorld,
) -> None:
    w = market
    signed = _permit(w)
    w.send(signed.fn, w.stranger)
    zero = "0x" + "00" * 20
    w.send(w.passport.functions.approve(zero, int.from_bytes(w.items.spare)), w.seller)
    error, args = signed.refusal
    w.refused(signed.fn, w.stranger, error, **args)


def test_permit_and_transfer_refuse_tampered_arguments(market: MarketWorld) -> None:
    w = market
    permit = _permit(w)
    token = int.from_bytes(w.items.spare)
    sig = permit.fn.args[3]
    other_spender = w.passport.functions.permit(w.buyer.address, token, permit.deadline, sig)
    error, args = permit.refusal
    w.refused(other_spender, w.stranger, error, **args)
    later = w.passport.functions.permit(w.stranger.address, token, permit.deadline + 1, sig)
    w.refused(later, w.stranger, error, **args)

    transfer = _transfer(w)
    sig = transfer.fn.args[5]
    redirected = w.passport.functions.transferBySig(
        w.seller.address, w.stranger.address, w.items.spare, SALE_REF, transfer.deadline, sig
    )
    w.refused(redirected, w.stranger, error, **args)


def test_transfer_by_sig_of_a_non_owner_is_refused_by_the_transfer(market: MarketWorld) -> None:
    """A stranger's own valid signature over someone else's item moves nothing."""
    w = market
    deadline = w.next_timestamp() + DAY
    message = {
        "from": w.stranger.address,
        "to": w.stranger.address,
        "itemId": w.items.spare,
        "saleRef": SALE_REF,
        "nonce": w.item_nonce(w.items.spare),
        "deadline": deadline,
    }
    sig = w.sign_passport(transfer_types(), message, w.stranger)
    fn = w.passport.functions.transferBySig(
        w.stranger.address, w.stranger.address, w.items.spare, SALE_REF, deadline, sig
    )
    w.refused(fn, w.stranger, TransferFromIncorrectOwner)


def test_transfer_by_sig_cannot_move_an_item_in_escrow(market: MarketWorld) -> None:
    w = market
    listing = w.list(w.items.spare)
    signed = _transfer(w)
    w.buy(listing)
    w.refused(signed.fn, w.stranger, ItemIsLocked, itemId=w.items.spare)


def test_permit_for_unknown_or_retired_items(market: MarketWorld) -> None:
    w = market
    deadline = w.next_timestamp() + DAY
    unknown = w.items.fresh[0]
    fn = w.passport.functions.permit(w.stranger.address, int.from_bytes(unknown), deadline, b"")
    w.refused(fn, w.stranger, ItemNotRegistered, itemId=unknown)
    retire = w.passport.functions.retire(w.items.spare, RetirementKind.RECYCLED, SALE_REF)
    w.send(retire, w.seller)
    signed = _permit(w)
    w.refused(signed.fn, w.stranger, ItemIsRetired, itemId=w.items.spare)


def test_permit_for_a_flagged_item_is_refused(market: MarketWorld) -> None:
    w = market
    signed = _permit(w)
    flag = w.passport.functions.flag(w.items.spare, ItemStatus.STOLEN, SALE_REF)
    w.send(flag, w.seller)
    w.refused(signed.fn, w.stranger, ItemIsFlagged, itemId=w.items.spare, status=ItemStatus.STOLEN)


def test_erc4494_surface(market: MarketWorld) -> None:
    w = market
    assert view(w.passport.functions.supportsInterface(bytes.fromhex("5604e225"))) is True
    assert view(w.passport.functions.supportsInterface(bytes.fromhex("80ac58cd"))) is True
    assert view(w.passport.functions.supportsInterface(bytes.fromhex("ffffffff"))) is False
    domain_type = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )

    def separator(name: str, address: str) -> bytes:
        return keccak(
            abi_encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [domain_type, keccak(text=name), keccak(text="1"), w.chain_id, address],
            )
        )

    passport_separator = separator("Provenance Item Passport", w.passport.address)
    assert view(w.passport.functions.DOMAIN_SEPARATOR()) == passport_separator
    market_separator = separator("Provenance Resale Market", w.market.address)
    assert view(w.market.functions.DOMAIN_SEPARATOR()) == market_separator
    assert w.item_nonce(w.items.spare) == 0
    w.call_refused(
        w.passport.functions.nonces(int.from_bytes(w.items.fresh[0])),
        ItemNotRegistered,
        itemId=w.items.fresh[0],
    )
