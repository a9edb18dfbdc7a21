"""Measure the gas of the passport's hot paths against a plain OpenZeppelin ERC-721.

Why this exists: the design trades a custom ERC-721 (Solady, packed per-item state) and a registry
folded into the passport contract for gas, with explicit targets: a registration within 10% of a
plain ERC-721 mint, a batched registration under 42% of it per item, a transfer within 5% of a
plain transfer. Those claims are only worth something if they are re-measured whenever the
contracts change, on the same chain, with the same calldata realism, in one command:

    .venv/bin/python scripts/bench_gas.py                  # fresh anvil on a free port
    .venv/bin/python scripts/bench_gas.py --chain embedded # eth-tester's in-process chain
    .venv/bin/python scripts/bench_gas.py --rpc URL        # a node that is already running
    .venv/bin/python scripts/bench_gas.py --strict         # exit 1 when a target is missed

It deploys ``ItemPassport``, the ``ResaleMarket`` it names and ``ReferenceERC721`` from the
shipped artifacts (no dependency on a deploy module), runs each measurement, and prints ONE JSON
object to stdout (progress and warnings go to stderr), so ``bench_gas.py | jq`` works. Gas is
``gasUsed`` from the receipt: what the sender pays, calldata and refunds included.

How the numbers are kept honest:

* Ids, hashes and recipient addresses are random 32/20-byte values from ``os.urandom``; zero bytes
  are 4 gas of calldata instead of 16 and would flatter the passport, whose calls carry more
  arguments than a plain mint. Zero bytes are redrawn, so every run (and every chain) prices the
  calldata identically and the figures are reproducible to the unit; a real keccak hash averages
  1/8 of a zero byte, so this overstates a real call by about 1.5 gas per hash.
* Every "new holder" is an address that holds no token of that contract, so the balance slot is
  written from zero (the 20k SSTORE), as for a first purchase.
* Transfers are measured under the same conditions on both contracts: the same account sends
  (same calldata), it holds exactly the one token it sends (its balance drops to zero, earning
  the same refund on both), the recipient holds none, and the sender is the owner (no operator
  approval involved).
* Each measurement sets up its own state with unmeasured transactions, so measurements do not
  depend on their order.
* Market sales are priced at 1.2345... ETH (a full-width amount), and every settlement starts
  from zero credits for everyone it pays (earlier credits are withdrawn first, unmeasured): a
  settlement then pays the 20k SSTORE for each new credit, as for a seller's first sale. A
  platform whose treasury already holds a credit pays about 17k less per settlement. Buyers hold
  no passport yet, so an item delivered to them writes their balance from zero.

Adding an operation (e.g. for the resale market): write ``def _measure_x(bench: Bench) -> int``
returning the gas of the one transaction of interest, append ``Measurement("x", _measure_x)`` to
``MEASUREMENTS``, and, if it has a target, a ``Ratio`` to ``RATIOS``. Contracts to deploy go in
``Bench.deploy`` (``bench.contract("Name")`` returns a deployed instance, deploying it once).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.types import TxReceipt

from ledger.artifacts import load_artifact
from ledger.node import AnvilError, AnvilNode
from ledger.types import ConditionGrade, ItemStatus, Role, Verdict

__all__ = [
    "MARKET",
    "MEASUREMENTS",
    "PASSPORT",
    "RATIOS",
    "REFERENCE",
    "Bench",
    "BenchError",
    "Measurement",
    "Ratio",
    "main",
    "run_benchmark",
]

PASSPORT = "ItemPassport"
REFERENCE = "ReferenceERC721"
MARKET = "ResaleMarket"
BATCH_SIZE = 100
# ItemPassport's constructor: (initialAdmin, adminTransferDelay, baseTokenURI). The values do not
# affect any measured path.
_ADMIN_TRANSFER_DELAY = 3 * 24 * 3600
_BASE_URI = "https://passport.example/items/"
# ResaleMarket's constructor: (passport, treasury, feeBps, deliveryWindow, shippingWindow,
# rulingWindow); `ledger.deploy`'s defaults.
_DAY = 24 * 3600
_MARKET_FEE_BPS = 250
_MARKET_WINDOWS = (14 * _DAY, 7 * _DAY, 7 * _DAY)
_SALE_PRICE = 1_234_567_890_123_456_789
_EVIDENCE_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
_RATIO_DIGITS = 4


class BenchError(RuntimeError):
    """The benchmark could not run (a transaction reverted, too few unlocked accounts...)."""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def random_nonzero_bytes(size: int) -> bytes:
    """``size`` random bytes, none of them zero (zero bytes are cheaper calldata; see above)."""
    out = bytearray()
    while len(out) < size:
        out += os.urandom(size).replace(b"\x00", b"")
    return bytes(out[:size])


def random_bytes32() -> bytes:
    """A realistic id or hash."""
    return random_nonzero_bytes(32)


@dataclass
class Bench:
    """A chain with the contracts deployed and the accounts a measurement needs.

    ``admin`` deployed ``ItemPassport`` and the ``ResaleMarket`` it names (fees credited to
    ``admin``); ``merchant``, ``authenticator`` and ``arbiter`` are vetted for their roles (the
    arbiter is the node's last account, so the others keep their places). Accounts that must sign
    (an owner transferring or flagging, a buyer) come from :meth:`signing_holder`, which hands
    each out once per contract so it is a new holder of that contract; recipients that never
    sign are random addresses from :meth:`new_holder`.
    """

    w3: Web3
    admin: ChecksumAddress
    merchant: ChecksumAddress
    authenticator: ChecksumAddress
    arbiter: ChecksumAddress
    spare_signers: list[ChecksumAddress]
    _contracts: dict[str, Contract] = field(default_factory=dict)
    _used_signers: dict[str, set[ChecksumAddress]] = field(default_factory=dict)

    @classmethod
    def deploy(cls, w3: Web3) -> Bench:
        """Deploy the contracts and vet the merchant, the authenticator and the arbiter."""
        accounts = list(w3.eth.accounts)
        if len(accounts) < 5:
            raise BenchError(
                f"the node has {len(accounts)} unlocked accounts; the benchmark needs at least 5 "
                "(admin, merchant, authenticator, holders, arbiter)"
            )
        bench = cls(
            w3=w3,
            admin=accounts[0],
            merchant=accounts[1],
            authenticator=accounts[2],
            arbiter=accounts[-1],
            spare_signers=accounts[3:-1],
        )
        bench.contract(PASSPORT)
        bench.contract(REFERENCE)
        bench.transact(bench.passport.functions.setMarket(bench.market.address), bench.admin)
        bench.vet(bench.merchant, Role.MERCHANT, "Bench Merchant")
        bench.vet(bench.authenticator, Role.AUTHENTICATOR, "Bench Authenticator")
        bench.vet(bench.arbiter, Role.ARBITER, "Bench Arbiter")
        return bench

    @property
    def passport(self) -> Contract:
        return self.contract(PASSPORT)

    @property
    def reference(self) -> Contract:
        return self.contract(REFERENCE)

    @property
    def market(self) -> Contract:
        return self.contract(MARKET)

    def contract(self, name: str) -> Contract:
        """The deployed contract ``name``, deploying it (by ``admin``) on first use."""
        if name not in self._contracts:
            artifact = load_artifact(name)
            factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
            args = _constructor_args(name, self)
            receipt = self.wait(factory.constructor(*args).transact({"from": self.admin}))
            address = receipt["contractAddress"]
            if address is None:
                raise BenchError(f"deploying {name} returned no contract address")
            self._contracts[name] = self.w3.eth.contract(address=address, abi=artifact["abi"])
            _log(f"deployed {name} at {address} ({receipt['gasUsed']} gas)")
        return self._contracts[name]

    def wait(self, tx_hash: HexBytes) -> TxReceipt:
        """The receipt of ``tx_hash``; raises unless the transaction succeeded."""
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise BenchError(f"transaction {tx_hash.hex()} reverted")
        return receipt

    def transact(self, call: Any, sender: ChecksumAddress, *, value: int = 0) -> TxReceipt:
        """Send a prepared contract call from ``sender`` (paying ``value`` wei) and return its
        successful receipt."""
        params: dict[str, Any] = {"from": sender}
        if value:
            params["value"] = value
        return self.wait(call.transact(params))

    def gas(self, call: Any, sender: ChecksumAddress, *, value: int = 0) -> int:
        """Gas used by the call sent from ``sender``, from its receipt."""
        return int(self.transact(call, sender, value=value)["gasUsed"])

    def new_holder(self) -> ChecksumAddress:
        """A random address: holds no token of any contract and never signs."""
        return Web3.to_checksum_address(random_nonzero_bytes(20))

    def signing_holder(self, contract: str) -> ChecksumAddress:
        """An unlocked account that has held no token of ``contract`` and can sign.

        The same accounts are handed out, in the same order, for each contract, so a passport
        operation and its reference counterpart carry the same sender in their calldata.
        """
        used = self._used_signers.setdefault(contract, set())
        for account in self.spare_signers:
            if account not in used:
                used.add(account)
                return account
        raise BenchError(f"ran out of unlocked accounts to hold {contract} tokens and sign")

    def vet(self, account: ChecksumAddress, roles: Role, name: str) -> None:
        call = self.passport.functions.vet(
            account, int(roles), random_bytes32(), name, random_bytes32()
        )
        self.transact(call, self.admin)

    def register(self, owner: ChecksumAddress) -> bytes:
        """Register a fresh item to ``owner`` (unmeasured set-up); returns its id."""
        item_id = random_bytes32()
        call = self.passport.functions.register(item_id, random_bytes32(), "", owner)
        self.transact(call, self.merchant)
        return item_id

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def listing(self) -> int:
        """A fresh item of ``merchant`` listed at `_SALE_PRICE` (unmeasured); its listing id."""
        item_id = self.register(self.merchant)
        call = self.market.functions.list(item_id, _SALE_PRICE, self.now() + 30 * _DAY)
        self.transact(call, self.merchant)
        return int(self.market.functions.listingCount().call())

    def sale(self, buyer: ChecksumAddress, *, shipped: bool) -> int:
        """A fresh listing bought by ``buyer`` (and shipped), unmeasured; its sale id."""
        listing_id = self.listing()
        self.transact(self.market.functions.buy(listing_id), buyer, value=_SALE_PRICE)
        sale_id = int(self.market.functions.saleCount().call())
        if shipped:
            call = self.market.functions.markShipped(sale_id, random_bytes32())
            self.transact(call, self.merchant)
        return sale_id

    def clear_credits(self, *accounts: ChecksumAddress) -> None:
        """Withdraw what ``accounts`` hold in the market (unmeasured), so settlements start at 0."""
        for account in accounts:
            if self.market.functions.credits(account).call():
                self.transact(self.market.functions.withdraw(), account)

    def reference_mint(self, owner: ChecksumAddress) -> int:
        """Mint a fresh reference token to ``owner`` (unmeasured set-up); returns its id."""
        token_id = int.from_bytes(random_bytes32(), "big")
        self.transact(self.reference.functions.mint(owner, token_id), self.admin)
        return token_id


def _constructor_args(name: str, bench: Bench) -> tuple[Any, ...]:
    if name == PASSPORT:
        return (bench.admin, _ADMIN_TRANSFER_DELAY, _BASE_URI)
    if name == MARKET:
        return (bench.passport.address, bench.admin, _MARKET_FEE_BPS, *_MARKET_WINDOWS)
    return ()


# ---------------------------------------------------------------- measurements


def _measure_register_single(bench: Bench) -> int:
    call = bench.passport.functions.register(
        random_bytes32(), random_bytes32(), "", bench.new_holder()
    )
    return bench.gas(call, bench.merchant)


def _measure_register_batch_per_item(bench: Bench) -> int:
    ids = [random_bytes32() for _ in range(BATCH_SIZE)]
    hashes = [random_bytes32() for _ in range(BATCH_SIZE)]
    call = bench.passport.functions.registerBatch(bench.new_holder(), ids, hashes, [])
    return round(bench.gas(call, bench.merchant) / BATCH_SIZE)


def _measure_transfer(bench: Bench) -> int:
    owner = bench.signing_holder(PASSPORT)
    item_id = bench.register(owner)
    call = bench.passport.functions.transferFrom(
        owner, bench.new_holder(), int.from_bytes(item_id, "big")
    )
    return bench.gas(call, owner)


def _measure_flag_lost_stolen(bench: Bench) -> int:
    owner = bench.signing_holder(PASSPORT)
    item_id = bench.register(owner)
    call = bench.passport.functions.flag(item_id, int(ItemStatus.STOLEN), random_bytes32())
    return bench.gas(call, owner)


def _measure_authenticate(bench: Bench) -> int:
    item_id = bench.register(bench.new_holder())
    call = bench.passport.functions.authenticate(
        item_id, int(Verdict.AUTHENTIC), int(ConditionGrade.LIKE_NEW), random_bytes32()
    )
    return bench.gas(call, bench.authenticator)


def _measure_market_list(bench: Bench) -> int:
    item_id = bench.register(bench.merchant)
    call = bench.market.functions.list(item_id, _SALE_PRICE, bench.now() + 30 * _DAY)
    return bench.gas(call, bench.merchant)


def _measure_market_buy(bench: Bench) -> int:
    listing_id = bench.listing()
    buyer = bench.signing_holder(PASSPORT)
    return bench.gas(bench.market.functions.buy(listing_id), buyer, value=_SALE_PRICE)


def _measure_market_ship(bench: Bench) -> int:
    sale_id = bench.sale(bench.signing_holder(PASSPORT), shipped=False)
    return bench.gas(bench.market.functions.markShipped(sale_id, random_bytes32()), bench.merchant)


def _measure_market_confirm(bench: Bench) -> int:
    buyer = bench.signing_holder(PASSPORT)
    sale_id = bench.sale(buyer, shipped=True)
    bench.clear_credits(bench.merchant, bench.admin)
    return bench.gas(bench.market.functions.confirmDelivery(sale_id), buyer)


def _measure_market_dispute_round_trip(bench: Bench) -> int:
    """Open a dispute (buyer), add evidence (seller), rule a 25% partial refund (arbiter): the
    heaviest ruling, which pays all three parties and delivers the item."""
    buyer = bench.signing_holder(PASSPORT)
    sale_id = bench.sale(buyer, shipped=True)
    bench.clear_credits(bench.merchant, bench.admin, buyer)
    fn = bench.market.functions
    steps = {
        "open": bench.gas(
            fn.openDispute(sale_id, 2, random_bytes32(), _EVIDENCE_URI), buyer
        ),  # NotAsDescribed
        "evidence": bench.gas(
            fn.submitEvidence(sale_id, random_bytes32(), _EVIDENCE_URI), bench.merchant
        ),
        "rule": bench.gas(fn.rule(sale_id, 3, 2_500, False, random_bytes32()), bench.arbiter),
    }
    _log("market_dispute_round_trip: " + ", ".join(f"{k} {v}" for k, v in steps.items()))
    return sum(steps.values())


def _measure_reference_mint(bench: Bench) -> int:
    token_id = int.from_bytes(random_bytes32(), "big")
    return bench.gas(bench.reference.functions.mint(bench.new_holder(), token_id), bench.admin)


def _measure_reference_transfer(bench: Bench) -> int:
    owner = bench.signing_holder(REFERENCE)
    token_id = bench.reference_mint(owner)
    call = bench.reference.functions.transferFrom(owner, bench.new_holder(), token_id)
    return bench.gas(call, owner)


@dataclass(frozen=True)
class Measurement:
    """One named figure in the report: ``measure`` returns the gas of the operation of interest."""

    name: str
    measure: Callable[[Bench], int]


@dataclass(frozen=True)
class Ratio:
    """``numerator / denominator`` of two measurements, met when at most ``target``."""

    name: str
    numerator: str
    denominator: str
    target: float


MEASUREMENTS: list[Measurement] = [
    Measurement("register_single", _measure_register_single),
    Measurement("register_batch_100_per_item", _measure_register_batch_per_item),
    Measurement("transfer", _measure_transfer),
    Measurement("flag_lost_stolen", _measure_flag_lost_stolen),
    Measurement("authenticate", _measure_authenticate),
    Measurement("market_list", _measure_market_list),
    Measurement("market_buy", _measure_market_buy),
    Measurement("market_ship", _measure_market_ship),
    Measurement("market_confirm", _measure_market_confirm),
    Measurement("market_dispute_round_trip", _measure_market_dispute_round_trip),
    Measurement("reference_mint", _measure_reference_mint),
    Measurement("reference_transfer", _measure_reference_transfer),
]

RATIOS: list[Ratio] = [
    Ratio("register_single", "register_single", "reference_mint", 1.10),
    Ratio("register_batch_100_per_item", "register_batch_100_per_item", "reference_mint", 0.42),
    Ratio("transfer", "transfer", "reference_transfer", 1.05),
]


# ---------------------------------------------------------------- report


def _solc_settings() -> dict[str, Any]:
    """The compiler settings both contracts were built with (they must match to compare)."""
    passport = load_artifact(PASSPORT).get("compiler")
    reference = load_artifact(REFERENCE).get("compiler")
    if passport is None:
        raise BenchError(f"the {PASSPORT} artifact has no 'compiler' key; run `make compile`")
    if passport != reference:
        _log(f"WARNING: {PASSPORT} and {REFERENCE} were compiled differently:")
        _log(f"  {passport}\n  {reference}")
    return {
        "version": passport.get("version"),
        "optimizer": passport.get("optimizer"),
        "evm_version": passport.get("evmVersion"),
        "via_ir": passport.get("viaIR"),
    }


def run_benchmark(
    w3: Web3,
    *,
    chain_kind: str,
    measurements: Sequence[Measurement] = MEASUREMENTS,
    ratios: Sequence[Ratio] = RATIOS,
) -> dict[str, Any]:
    """Deploy on ``w3``, take every measurement and return the report (the JSON object)."""
    bench = Bench.deploy(w3)
    gas: dict[str, int] = {}
    for measurement in measurements:
        gas[measurement.name] = measurement.measure(bench)
        _log(f"{measurement.name}: {gas[measurement.name]} gas")
    exact = {r.name: gas[r.numerator] / gas[r.denominator] for r in ratios}
    return {
        "gas": gas,
        "ratios": {name: round(value, _RATIO_DIGITS) for name, value in exact.items()},
        "targets": {r.name: r.target for r in ratios},
        "meets_targets": {r.name: exact[r.name] <= r.target for r in ratios},
        "chain": {
            "kind": chain_kind,
            "chain_id": w3.eth.chain_id,
            "client": w3.client_version,
        },
        "solc": _solc_settings(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@contextmanager
def _connect(args: argparse.Namespace) -> Iterator[tuple[Web3, str]]:
    """A Web3 on the chain the command line asks for, and that chain's kind for the report."""
    if args.rpc is not None:
        w3 = Web3(Web3.HTTPProvider(args.rpc))
        if not w3.is_connected():
            raise BenchError(f"nothing answers JSON-RPC at {args.rpc}")
        # Named after the client ("anvil", "geth"...): the URL may carry an API key, so not that.
        yield w3, w3.client_version.split("/", 1)[0].lower()
    elif args.chain == "embedded":
        yield Web3(EthereumTesterProvider()), "embedded"
    else:
        with AnvilNode() as node:
            _log(f"started anvil at {node.rpc_url}")
            yield Web3(Web3.HTTPProvider(node.rpc_url)), "anvil"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Gas of ItemPassport (and ResaleMarket) operations vs a plain OpenZeppelin "
        "ERC-721, as JSON."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--chain",
        choices=("anvil", "embedded"),
        default="anvil",
        help="start a fresh anvil (default) or use eth-tester's in-process chain",
    )
    where.add_argument("--rpc", metavar="URL", help="attach to a node with unlocked accounts")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 unless it failed, or (with ``--strict``) a target was missed."""
    args = _parse_args(argv)
    try:
        with _connect(args) as (w3, kind):
            report = run_benchmark(w3, chain_kind=kind)
    except (BenchError, AnvilError) as exc:
        _log(f"error: {exc}")
        return 2
    print(json.dumps(report, indent=2))
    missed = [name for name, met in report["meets_targets"].items() if not met]
    for name in missed:
        _log(
            f"WARNING: {name} ratio {report['ratios'][name]} exceeds its target "
            f"{report['targets'][name]}"
        )
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
