"""Fixtures and helpers for the resale-market contract tests (``test_market*.py``).

Not a ``conftest.py`` (that one belongs to the passport tests): test modules import the
``market`` fixture from here explicitly. The fixture deploys `ItemPassport` and `ResaleMarket`
straight from the artifacts and builds the world every market test starts from:

* vetted: merchant (Merchant, the usual seller), brand (Brand), authenticator (Authenticator),
  arbiter (Arbiter); suspended_merchant and revoked_merchant (Merchant; each listed an item
  while active, then was suspended / revoked); admin is the platform admin;
* buyer is the dev account ``owner`` (never vetted), stranger is never vetted, and the
  treasury is the dev account ``spare``;
* items (see `MarketItems`): ``main`` (listed by merchant as `MarketWorld.main_listing`),
  ``spare`` (merchant's, unlisted), ``extra`` (merchant's, unlisted), ``suspended`` and
  ``revoked`` (listed by those merchants before they lost their standing);
* the market: fee 2.5%, shipping window 3 days, delivery window 14 days, ruling window 7 days,
  named as the passport's market.

Setup runs once per session; an eth-tester snapshot taken right after it is restored before
every test. Refused calls are mined as failed transactions (fixed gas, see ``helpers.send``), so
a test can check that a refusal left the state alone.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from functools import cache
from typing import TYPE_CHECKING, Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from web3 import Web3
from web3.contract.contract import Contract, ContractFunction
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from ledger.artifacts import load_artifact
from ledger.errors import ContractError, ErrorDecoder
from ledger.hashing import hash_document, item_id
from ledger.types import (
    DisputeReason,
    ListingStatus,
    Role,
    Ruling,
    SaleState,
    Settlement,
    VoidReason,
)
from tests.contracts.helpers import GAS_LIMIT, revert_data, send, view

if TYPE_CHECKING:
    from tests.conftest import DevAccounts

__all__ = [
    "DAY",
    "DELIVERY_WINDOW",
    "ETHER",
    "EVIDENCE_HASH",
    "FEE_BPS",
    "PRICE",
    "RULING_WINDOW",
    "SHIPMENT_HASH",
    "SHIPPING_WINDOW",
    "DisputeReason",
    "ListingStatus",
    "MarketItems",
    "MarketWorld",
    "Ruling",
    "SaleState",
    "Settlement",
    "VoidReason",
    "as_tuple",
    "market",
    "order_types",
    "permit_types",
    "transfer_types",
]

DAY = 24 * 3600
ETHER = 10**18
PRICE = ETHER
FEE_BPS = 250
SHIPPING_WINDOW = 3 * DAY
DELIVERY_WINDOW = 14 * DAY
RULING_WINDOW = 7 * DAY
BASE_URI = "http://127.0.0.1:8000/items/"
DEPLOY_GAS = 10_000_000
METADATA_HASH = hash_document({"brand": "Maison Test", "model": "Speedy 30"})
EVIDENCE_HASH = hash_document({"evidence": "photos.zip"})
SHIPMENT_HASH = hash_document({"carrier": "DHL", "tracking": "JD0146000012345"})
RULING_HASH = hash_document({"ruling": "reasons.pdf"})


@dataclass(frozen=True)
class MarketItems:
    main: bytes = item_id(brand="Maison Test", serial="MKT-MAIN")
    """merchant's, listed as `MarketWorld.main_listing`."""
    spare: bytes = item_id(brand="Maison Test", serial="MKT-SPARE")
    """merchant's, not listed."""
    extra: bytes = item_id(brand="Maison Test", serial="MKT-EXTRA")
    """merchant's, not listed."""
    suspended: bytes = item_id(brand="Maison Test", serial="MKT-SUSPENDED")
    """suspended_merchant's, listed as `MarketWorld.suspended_listing` before the suspension."""
    revoked: bytes = item_id(brand="Maison Test", serial="MKT-REVOKED")
    """revoked_merchant's, listed as `MarketWorld.revoked_listing` before the revocation."""
    fresh: tuple[bytes, ...] = field(
        default=tuple(item_id(brand="Maison Test", serial=f"MKT-NEW-{n}") for n in range(8))
    )
    """Not registered; `MarketWorld.register` them as needed."""


@cache
def abi(name: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = load_artifact(name)["abi"]
    return loaded


@cache
def _decoder() -> ErrorDecoder:
    return ErrorDecoder(abi(name) for name in ("ItemPassport", "ResaleMarket", "ReentrantReceiver"))


def _normalise(value: object) -> object:
    if isinstance(value, LocalAccount):
        return value.address
    if isinstance(value, IntEnum | IntFlag):
        return int(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    return value


def _revert_bytes(exc: BaseException) -> bytes | None:
    data = revert_data(exc)
    if data is None and type(exc).__name__ == "TransactionFailed" and exc.args:
        # eth-tester's own call path (no web3 wrapping) carries str(bytes) without a prefix.
        first = exc.args[0]
        if isinstance(first, str) and first.startswith(("b'", 'b"')):
            value = ast.literal_eval(first)
            data = value if isinstance(value, bytes) else None
    return data


def decode_revert(exc: BaseException) -> ContractError:
    data = _revert_bytes(exc)
    if data is None:
        raise exc
    decoded = _decoder().decode(data)
    assert isinstance(decoded, ContractError), f"revert data 0x{data.hex()}: {decoded}"
    return decoded


def assert_error(decoded: ContractError, error: type[ContractError] | str, **args: object) -> None:
    name = error if isinstance(error, str) else error.__name__
    assert decoded.error_name == name, f"reverted with {decoded!r}, expected {name}"
    if not isinstance(error, str):
        assert type(decoded) is error
    expected = {key: _normalise(value) for key, value in args.items()}
    assert decoded.arguments == expected, f"{name} arguments: {decoded.arguments}"


ORDER_FIELDS = ("itemId", "seller", "price", "expiry", "itemNonce", "counter")


def as_tuple(order: Mapping[str, Any]) -> tuple[Any, ...]:
    """A `SellOrder` dict as the tuple web3 encodes for a struct argument."""
    return tuple(order[name] for name in ORDER_FIELDS)


def permit_types() -> dict[str, list[dict[str, str]]]:
    return {
        "Permit": [
            {"name": "spender", "type": "address"},
            {"name": "tokenId", "type": "uint256"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ]
    }


def transfer_types() -> dict[str, list[dict[str, str]]]:
    return {
        "Transfer": [
            {"name": "from", "type": "address"},
            {"name": "to", "type": "address"},
            {"name": "itemId", "type": "bytes32"},
            {"name": "saleRef", "type": "bytes32"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ]
    }


def order_types() -> dict[str, list[dict[str, str]]]:
    return {
        "SellOrder": [
            {"name": "itemId", "type": "bytes32"},
            {"name": "seller", "type": "address"},
            {"name": "price", "type": "uint256"},
            {"name": "expiry", "type": "uint256"},
            {"name": "itemNonce", "type": "uint256"},
            {"name": "counter", "type": "uint256"},
        ]
    }


def sign_typed(
    signer: LocalAccount,
    *,
    name: str,
    chain_id: int,
    verifying_contract: str,
    types: dict[str, list[dict[str, str]]],
    message: Mapping[str, Any],
) -> bytes:
    """``signer``'s 65-byte EIP-712 signature (r ‖ s ‖ v, v in {27, 28}) over ``message``."""
    (primary,) = types
    full = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **types,
        },
        "primaryType": primary,
        "domain": {
            "name": name,
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": verifying_contract,
        },
        "message": dict(message),
    }
    signed = Account.sign_typed_data(signer.key, full_message=full)
    return bytes(signed.signature)


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def high_s_twin(signature: bytes) -> bytes:
    """The malleable twin of a signature: (r, n - s, flipped v) recovers the same signer."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64]), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32) + bytes([55 - v])


@dataclass
class MarketWorld:
    """The deployed contracts, the named accounts and the helpers every market test uses."""

    w3: Web3
    passport: Contract
    market: Contract
    accounts: DevAccounts
    items: MarketItems
    main_listing: int
    suspended_listing: int
    revoked_listing: int

    # -------------------------------------------------------------- people

    @property
    def admin(self) -> LocalAccount:
        return self.accounts.admin

    @property
    def seller(self) -> LocalAccount:
        return self.accounts.merchant

    @property
    def buyer(self) -> LocalAccount:
        return self.accounts.owner

    @property
    def arbiter(self) -> LocalAccount:
        return self.accounts.arbiter

    @property
    def stranger(self) -> LocalAccount:
        return self.accounts.stranger

    @property
    def treasury(self) -> LocalAccount:
        return self.accounts.spare

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    # -------------------------------------------------------------- transactions

    def send(
        self, fn: ContractFunction, sender: LocalAccount | str, *, value: int = 0
    ) -> TxReceipt:
        return send(fn, sender, value=value)

    def refused(
        self,
        fn: ContractFunction,
        sender: LocalAccount | str,
        error: type[ContractError] | str,
        *,
        value: int = 0,
        **args: object,
    ) -> TxReceipt:
        """Mine ``fn`` from ``sender``; assert it failed with exactly ``error(**args)``.

        The revert data comes from running the call on the pending block first: same state, same
        timestamp as the transaction that is then mined (``helpers.send`` replays on the parent
        block, one second earlier, which changes the outcome of deadline checks).
        """
        address = sender if isinstance(sender, str) else sender.address
        tx: dict[str, Any] = {"from": address, "gas": GAS_LIMIT, "value": value}
        try:
            fn.call(tx, block_identifier="pending")  # type: ignore[arg-type]
        except Exception as exc:
            assert_error(decode_revert(exc), error, **args)
        else:
            pytest.fail(f"expected {error}, but the call succeeded")
        receipt = self.w3.eth.get_transaction_receipt(fn.transact(tx))  # type: ignore[arg-type]
        assert receipt["status"] == 0, "the call reverted but the transaction succeeded"
        return receipt

    def call_refused(
        self, fn: ContractFunction, error: type[ContractError] | str, **args: object
    ) -> None:
        """Assert that the view (or eth_call) ``fn`` reverts with exactly ``error(**args)``."""
        try:
            view(fn)
        except Exception as exc:
            assert_error(decode_revert(exc), error, **args)
            return
        pytest.fail(f"expected {error}, but the call succeeded")

    def events(self, receipt: TxReceipt, name: str, contract: Contract | None = None) -> list[Any]:
        target = contract if contract is not None else self.market
        logs: list[EventData] = list(target.events[name]().process_receipt(receipt, errors=DISCARD))
        return [dict(log["args"]) for log in logs]

    def event(self, receipt: TxReceipt, name: str, contract: Contract | None = None) -> Any:
        (args,) = self.events(receipt, name, contract)
        return args

    # -------------------------------------------------------------- time

    @property
    def tester(self) -> Any:
        return self.w3.provider.ethereum_tester  # type: ignore[attr-defined]

    def next_timestamp(self) -> int:
        """The timestamp the next transaction will be mined at."""
        return int(self.tester.get_block_by_number("pending")["timestamp"])

    def at(self, timestamp: int) -> None:
        """Make the next transaction be mined at exactly ``timestamp``."""
        pending = self.next_timestamp()
        assert timestamp >= pending, f"cannot travel back from {pending} to {timestamp}"
        if timestamp > pending:
            # eth-tester mines a block one second before the target, leaving the target pending.
            self.tester.time_travel(timestamp)
        assert self.next_timestamp() == timestamp

    # -------------------------------------------------------------- views

    def now_view(self, fn: ContractFunction) -> Any:
        """Call a view as of the next transaction (pending block: its timestamp, latest state)."""
        return fn.call({"from": self.admin.address}, block_identifier="pending")

    def _struct(self, contract: Contract, function: str, *args: object) -> dict[str, Any]:
        (output,) = next(
            entry["outputs"]
            for entry in contract.abi
            if entry.get("type") == "function" and entry.get("name") == function
        )
        value = view(contract.functions[function](*args))
        return dict(zip((c["name"] for c in output["components"]), value, strict=True))

    def sale(self, sale_id: int) -> dict[str, Any]:
        return self._struct(self.market, "saleOf", sale_id)

    def listing(self, listing_id: int) -> dict[str, Any]:
        return self._struct(self.market, "listingOf", listing_id)

    def item(self, item: bytes) -> dict[str, Any]:
        return self._struct(self.passport, "itemOf", item)

    def credits(self, account: LocalAccount | str) -> int:
        address = account if isinstance(account, str) else account.address
        return int(view(self.market.functions.credits(address)))

    def balance(self, account: LocalAccount | str | Contract) -> int:
        address = account if isinstance(account, str) else account.address
        return int(self.w3.eth.get_balance(address))

    def item_nonce(self, item: bytes) -> int:
        return int(view(self.passport.functions.nonces(int.from_bytes(item))))

    def snapshot(
        self,
        *,
        sales: tuple[int, ...] = (),
        items: tuple[bytes, ...] = (),
        listings: tuple[int, ...] = (),
        people: tuple[LocalAccount, ...] = (),
    ) -> Any:
        """What a refused call must leave alone, in one comparable value.

        Always: the market's balance, counts and settings, and the credits and order counters of
        seller, buyer and treasury; plus the named sales, items, listings and people.
        """
        watched = (self.seller, self.buyer, self.treasury, *people)
        fn = self.market.functions
        return {
            "market_balance": self.balance(self.market),
            "credits": [self.credits(p) for p in watched],
            "counters": [int(view(fn.nonces(p.address))) for p in watched],
            "sales": [self.sale(s) for s in sales],
            "items": [self.item(i) for i in items],
            "listings": [self.listing(n) for n in (self.main_listing, *listings)],
            "counts": (int(view(fn.saleCount())), self.listing_count()),
            "settings": (int(view(fn.feeBps())), view(fn.treasury())),
        }

    def listing_count(self) -> int:
        return int(view(self.market.functions.listingCount()))

    # -------------------------------------------------------------- set-ups

    def register(self, item: bytes, owner: LocalAccount | str) -> bytes:
        address = owner if isinstance(owner, str) else owner.address
        self.send(self.passport.functions.register(item, METADATA_HASH, "", address), self.seller)
        return item

    def list(
        self,
        item: bytes,
        seller: LocalAccount | None = None,
        *,
        price: int = PRICE,
        expiry: int | None = None,
    ) -> int:
        seller = seller or self.seller
        if expiry is None:
            expiry = self.next_timestamp() + 30 * DAY
        receipt = self.send(self.market.functions.list(item, price, expiry), seller)
        return int(self.event(receipt, "Listed")["listingId"])

    def buy(self, listing_id: int | None = None, buyer: LocalAccount | None = None) -> int:
        listing_id = self.main_listing if listing_id is None else listing_id
        price = self.listing(listing_id)["price"]
        receipt = self.send(self.market.functions.buy(listing_id), buyer or self.buyer, value=price)
        return int(self.event(receipt, "Purchased")["saleId"])

    def ship(self, sale_id: int) -> TxReceipt:
        seller = self.sale(sale_id)["seller"]
        return self.send(self.market.functions.markShipped(sale_id, SHIPMENT_HASH), seller)

    def dispute(
        self, sale_id: int, reason: DisputeReason = DisputeReason.NOT_AS_DESCRIBED
    ) -> TxReceipt:
        buyer = self.sale(sale_id)["buyer"]
        fn = self.market.functions.openDispute(sale_id, reason, EVIDENCE_HASH, "ipfs://claim")
        return self.send(fn, buyer)

    def shipped_sale(self) -> int:
        sale_id = self.buy()
        self.ship(sale_id)
        return sale_id

    def disputed_sale(self) -> int:
        sale_id = self.shipped_sale()
        self.dispute(sale_id)
        return sale_id

    def order(
        self,
        item: bytes,
        seller: LocalAccount | None = None,
        *,
        price: int = PRICE,
        expiry: int | None = None,
        item_nonce: int | None = None,
        counter: int | None = None,
    ) -> dict[str, Any]:
        seller = seller or self.seller
        return {
            "itemId": item,
            "seller": seller.address,
            "price": price,
            "expiry": self.next_timestamp() + 30 * DAY if expiry is None else expiry,
            "itemNonce": self.item_nonce(item) if item_nonce is None else item_nonce,
            "counter": (
                int(view(self.market.functions.nonces(seller.address)))
                if counter is None
                else counter
            ),
        }

    def sign_order(
        self,
        order: Mapping[str, Any],
        signer: LocalAccount | None = None,
        *,
        chain_id: int | None = None,
        verifying_contract: str | None = None,
    ) -> bytes:
        return sign_typed(
            signer or self.seller,
            name="Provenance Resale Market",
            chain_id=self.chain_id if chain_id is None else chain_id,
            verifying_contract=verifying_contract or self.market.address,
            types=order_types(),
            message=order,
        )

    def sign_passport(
        self,
        types: dict[str, list[dict[str, str]]],
        message: Mapping[str, Any],
        signer: LocalAccount,
        *,
        chain_id: int | None = None,
        verifying_contract: str | None = None,
    ) -> bytes:
        return sign_typed(
            signer,
            name="Provenance Item Passport",
            chain_id=self.chain_id if chain_id is None else chain_id,
            verifying_contract=verifying_contract or self.passport.address,
            types=types,
            message=message,
        )

    def deploy(self, name: str, *args: object, sender: LocalAccount | None = None) -> Contract:
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        constructor: Any = factory.constructor(*args)
        receipt = send(constructor, sender or self.admin, gas=DEPLOY_GAS)
        address = receipt["contractAddress"]
        assert address is not None
        return self.w3.eth.contract(address=address, abi=artifact["abi"])

    def deploy_market(self, passport: Contract | None = None) -> Contract:
        return self.deploy(
            "ResaleMarket",
            (passport or self.passport).address,
            self.treasury.address,
            FEE_BPS,
            DELIVERY_WINDOW,
            SHIPPING_WINDOW,
            RULING_WINDOW,
        )


def _vetting_args(name: str, roles: int) -> tuple[int, bytes, str, bytes]:
    return (
        int(roles),
        hash_document({"dossier": name}),
        name,
        hash_document({"decision": f"vet {name}"}),
    )


@dataclass
class _Cache:
    snapshot: int | None = None
    world: MarketWorld | None = None


_CACHE = _Cache()


def _build(w3: Web3, accounts: DevAccounts) -> MarketWorld:
    artifact = load_artifact("ItemPassport")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    constructor: Any = factory.constructor(accounts.admin.address, 0, BASE_URI)
    receipt = send(constructor, accounts.admin, gas=DEPLOY_GAS)
    passport = w3.eth.contract(address=receipt["contractAddress"], abi=abi("ItemPassport"))
    fn = passport.functions
    admin = accounts.admin
    for account, roles, name in [
        (accounts.merchant, Role.MERCHANT, "Second Life Luxury"),
        (accounts.brand, Role.BRAND, "Maison Test"),
        (accounts.authenticator, Role.AUTHENTICATOR, "Authentic Lab"),
        (accounts.arbiter, Role.ARBITER, "Fair Resolutions"),
        (accounts.suspended_merchant, Role.MERCHANT, "Suspended Resale"),
        (accounts.revoked_merchant, Role.MERCHANT, "Revoked Resale"),
    ]:
        send(fn.vet(account.address, *_vetting_args(name, roles)), admin)

    world = MarketWorld(
        w3=w3,
        passport=passport,
        market=passport,  # replaced right below
        accounts=accounts,
        items=MarketItems(),
        main_listing=0,
        suspended_listing=0,
        revoked_listing=0,
    )
    market = world.deploy_market()
    world.market = w3.eth.contract(address=market.address, abi=abi("ResaleMarket"))
    send(fn.setMarket(market.address), admin)

    items = world.items
    for item in (items.main, items.spare, items.extra):
        world.register(item, accounts.merchant)
    world.register(items.suspended, accounts.suspended_merchant)
    world.register(items.revoked, accounts.revoked_merchant)
    world.main_listing = world.list(items.main)
    world.suspended_listing = world.list(items.suspended, accounts.suspended_merchant)
    world.revoked_listing = world.list(items.revoked, accounts.revoked_merchant)
    reason = hash_document({"why": "test setup"})
    send(fn.suspend(accounts.suspended_merchant.address, reason), admin)
    send(fn.revoke(accounts.revoked_merchant.address, reason), admin)
    return world


@pytest.fixture
def market(w3: Web3, accounts: DevAccounts) -> MarketWorld:
    """The market world of the module doc, fresh for every test."""
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    if _CACHE.snapshot is None or _CACHE.world is None:
        _CACHE.world = _build(w3, accounts)
        _CACHE.snapshot = tester.take_snapshot()
    else:
        tester.revert_to_snapshot(_CACHE.snapshot)
    world = _CACHE.world
    world.w3 = w3
    world.passport = w3.eth.contract(address=world.passport.address, abi=abi("ItemPassport"))
    world.market = w3.eth.contract(address=world.market.address, abi=abi("ResaleMarket"))
    return world


def each(values: Mapping[str, Callable[..., Any]]) -> list[Any]:
    """``pytest.param`` per entry, with the key as its id."""
    return [pytest.param(v, id=k) for k, v in values.items()]
