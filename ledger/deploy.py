"""Deploying the `ItemPassport` and `ResaleMarket` contracts and remembering where they went.

Why this exists: every command needs "the passport on this chain" (and its resale market). A
deployment is recorded as a small JSON file (written atomically, so a crash never leaves half a
file), and `load_or_deploy` reuses it only when it still holds on the chain at hand: same chain
id, and code at the address (an anvil restarted without its state file keeps the chain id but
loses the contract).

`deploy` deploys the passport, then the market, and has the admin name the market in the passport
(``setMarket``): only the named market may lock items in escrow. Records written before the market
existed have no ``market``; `load_or_deploy` (and ``provenance deploy``) add one to them with
`add_market`, keeping the passport and its items.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import types
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils import is_address, to_checksum_address
from web3 import Web3

from ledger.artifacts import load_artifact
from ledger.errors import ConfigurationError, ErrorDecoder, InputError, TransactionError
from ledger.tx import TransactionSender, translate_error, tx_result
from ledger.types import TxResult

__all__ = [
    "CONTRACT_NAME",
    "DEFAULT_BASE_URI",
    "DEFAULT_DELIVERY_WINDOW",
    "DEFAULT_FEE_BPS",
    "DEFAULT_RULING_WINDOW",
    "DEFAULT_SHIPPING_WINDOW",
    "MARKET_CONTRACT_NAME",
    "MAX_FEE_BPS",
    "MAX_WINDOW",
    "Deployment",
    "MarketSettings",
    "add_market",
    "deploy",
    "load_deployment",
    "load_or_deploy",
    "market_abi",
    "passport_abi",
    "save_deployment",
]

CONTRACT_NAME = "ItemPassport"
MARKET_CONTRACT_NAME = "ResaleMarket"
DEFAULT_BASE_URI = "http://127.0.0.1:8000/items/"
_DAY = 24 * 3600
DEFAULT_FEE_BPS = 250
"""2.5% of the price, credited to the treasury."""
DEFAULT_SHIPPING_WINDOW = 7 * _DAY
DEFAULT_DELIVERY_WINDOW = 14 * _DAY
DEFAULT_RULING_WINDOW = 7 * _DAY
MAX_FEE_BPS = 1000
"""`ResaleMarket.MAX_FEE_BPS`: 10%."""
MAX_WINDOW = 365 * _DAY
"""`ResaleMarket.MAX_WINDOW`."""
_FORMAT_VERSION = 1
_MAX_ADMIN_TRANSFER_DELAY = 2**48 - 1
_ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Deployment:
    """Where the passport contract (and its resale market) live on one chain, and who
    administers them.

    ``market`` is None in records written before the market existed (see `add_market`).
    """

    chain_id: int
    passport: ChecksumAddress
    block_number: int
    tx_hash: str
    admin: ChecksumAddress
    market: ChecksumAddress | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "contract": CONTRACT_NAME,
            "chain_id": self.chain_id,
            "passport": self.passport,
            "block_number": self.block_number,
            "tx_hash": self.tx_hash,
            "admin": self.admin,
            "market": self.market,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        """Parse `to_json` output; `ConfigurationError` if anything is missing or malformed."""
        if not isinstance(data, Mapping):
            raise ConfigurationError("a deployment record must be a JSON object")
        try:
            chain_id, block_number = data["chain_id"], data["block_number"]
            passport, admin, tx_hash = data["passport"], data["admin"], data["tx_hash"]
        except KeyError as exc:
            raise ConfigurationError(f"the deployment record lacks {exc.args[0]!r}") from None
        for name, value in (("chain_id", chain_id), ("block_number", block_number)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigurationError(f"deployment {name} must be a non-negative integer")
        for name, value in (("passport", passport), ("admin", admin)):
            if not isinstance(value, str) or not is_address(value):
                raise ConfigurationError(f"deployment {name} is not an address: {value!r}")
        if not isinstance(tx_hash, str) or not tx_hash.startswith("0x") or len(tx_hash) != 66:
            raise ConfigurationError(f"deployment tx_hash is not a transaction hash: {tx_hash!r}")
        market = data.get("market")  # absent (or null) in records older than the market
        if market is not None and (not isinstance(market, str) or not is_address(market)):
            raise ConfigurationError(f"deployment market is not an address: {market!r}")
        return cls(
            chain_id=chain_id,
            passport=to_checksum_address(passport),
            block_number=block_number,
            tx_hash=tx_hash.lower(),
            admin=to_checksum_address(admin),
            market=to_checksum_address(market) if market is not None else None,
        )


@dataclass(frozen=True)
class MarketSettings:
    """Constructor arguments of a `ResaleMarket` (see `contracts/interfaces/IResaleMarket.sol`).

    ``treasury`` None means the admin. Windows are seconds, between 1 and `MAX_WINDOW`.
    """

    treasury: str | None = None
    fee_bps: int = DEFAULT_FEE_BPS
    shipping_window: int = DEFAULT_SHIPPING_WINDOW
    delivery_window: int = DEFAULT_DELIVERY_WINDOW
    ruling_window: int = DEFAULT_RULING_WINDOW

    def checked(self, admin: ChecksumAddress) -> tuple[ChecksumAddress, int, int, int, int]:
        """``(treasury, fee, delivery, shipping, ruling)`` in constructor order; `InputError`
        naming the field for anything the constructor would refuse."""
        treasury = admin if self.treasury is None else self.treasury
        if not isinstance(treasury, str) or not is_address(treasury):
            raise InputError(f"treasury is not an address: {treasury!r}", field="treasury")
        if to_checksum_address(treasury) == _ZERO_ADDRESS:
            raise InputError("treasury must not be the zero address", field="treasury")
        if not _is_int(self.fee_bps) or not 0 <= self.fee_bps <= MAX_FEE_BPS:
            raise InputError(
                f"fee_bps must be 0..{MAX_FEE_BPS} basis points, got {self.fee_bps!r}",
                field="fee_bps",
            )
        for name in ("shipping_window", "delivery_window", "ruling_window"):
            value = getattr(self, name)
            if not _is_int(value) or not 1 <= value <= MAX_WINDOW:
                raise InputError(
                    f"{name} must be 1..{MAX_WINDOW} seconds, got {value!r}", field=name
                )
        return (
            to_checksum_address(treasury),
            self.fee_bps,
            self.delivery_window,
            self.shipping_window,
            self.ruling_window,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def passport_abi() -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = load_artifact(CONTRACT_NAME)["abi"]
    return abi


def market_abi() -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = load_artifact(MARKET_CONTRACT_NAME)["abi"]
    return abi


def deploy(
    *,
    w3: Web3,
    admin: LocalAccount,
    base_uri: str = DEFAULT_BASE_URI,
    admin_transfer_delay: int = 0,
    with_market: bool = True,
    treasury: str | None = None,
    fee_bps: int = DEFAULT_FEE_BPS,
    shipping_window: int = DEFAULT_SHIPPING_WINDOW,
    delivery_window: int = DEFAULT_DELIVERY_WINDOW,
    ruling_window: int = DEFAULT_RULING_WINDOW,
) -> Deployment:
    """Deploy a new `ItemPassport` administered by ``admin``, and (unless ``with_market`` is
    false) a `ResaleMarket` it names as its market; waits until everything is mined.

    Market defaults: fees (250 bps) credited to ``admin`` (or ``treasury``), 7 days to ship,
    14 days to confirm or dispute after shipment, 7 days for an arbiter to rule.
    """
    if not 0 <= admin_transfer_delay <= _MAX_ADMIN_TRANSFER_DELAY:
        raise InputError(
            "admin_transfer_delay must fit in uint48 seconds", field="admin_transfer_delay"
        )
    settings = MarketSettings(
        treasury=treasury,
        fee_bps=fee_bps,
        shipping_window=shipping_window,
        delivery_window=delivery_window,
        ruling_window=ruling_window,
    )
    if with_market:
        settings.checked(admin.address)  # refuse bad settings before spending any gas
    artifact = load_artifact(CONTRACT_NAME)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    constructor = factory.constructor(admin.address, admin_transfer_delay, base_uri)
    decoder = ErrorDecoder([artifact["abi"], market_abi()])
    chain_id = _chain_id(w3, decoder)
    sender = TransactionSender(w3=w3, account=admin, decoder=decoder)
    address, result = _create(sender, cast(HexStr, constructor.data_in_transaction))
    deployment = Deployment(
        chain_id=chain_id,
        passport=address,
        block_number=result.block_number,
        tx_hash=result.tx_hash,
        admin=admin.address,
    )
    if not with_market:
        return deployment
    return _deploy_market(w3=w3, sender=sender, deployment=deployment, settings=settings)


def _create(sender: TransactionSender, init_code: HexStr) -> tuple[ChecksumAddress, TxResult]:
    receipt = sender.transact(to=None, data=init_code)
    address = receipt.get("contractAddress")
    if not address:
        raise TransactionError("the deployment was mined but created no contract")
    return to_checksum_address(address), tx_result(receipt)


def _deploy_market(
    *, w3: Web3, sender: TransactionSender, deployment: Deployment, settings: MarketSettings
) -> Deployment:
    args = settings.checked(deployment.admin)
    artifact = load_artifact(MARKET_CONTRACT_NAME)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    constructor = factory.constructor(deployment.passport, *args)
    market, _ = _create(sender, cast(HexStr, constructor.data_in_transaction))
    passport = w3.eth.contract(address=deployment.passport, abi=passport_abi())
    sender.send(passport.functions.setMarket(market))
    return replace(deployment, market=market)


def add_market(
    *,
    w3: Web3,
    deployment: Deployment,
    admin: LocalAccount,
    settings: MarketSettings | None = None,
) -> Deployment:
    """``deployment`` with a resale market: the one its passport already names, if any (and
    live), else a new `ResaleMarket` that ``admin`` deploys and names. A deployment that already
    records a market is returned as is. The caller saves the result.

    `ConfigurationError` when ``admin`` is not the passport's admin (only it may name a market).
    """
    if deployment.market is not None:
        return deployment
    abi = passport_abi()
    decoder = ErrorDecoder([abi, market_abi()])
    passport = w3.eth.contract(address=deployment.passport, abi=abi)
    try:
        named = to_checksum_address(passport.functions.market().call())
        if named != _ZERO_ADDRESS and len(w3.eth.get_code(named)) > 0:
            return replace(deployment, market=named)
        is_admin = bool(passport.functions.isAdmin(admin.address).call())
    except Exception as exc:
        error = translate_error(exc, decoder)
        if error is None:
            raise
        raise error from exc
    if not is_admin:
        raise ConfigurationError(
            f"{admin.address} is not the admin of the passport {deployment.passport}: only the "
            "admin can deploy and name its resale market"
        )
    sender = TransactionSender(w3=w3, account=admin, decoder=decoder)
    return _deploy_market(
        w3=w3, sender=sender, deployment=deployment, settings=settings or MarketSettings()
    )


def _chain_id(w3: Web3, decoder: ErrorDecoder) -> int:
    try:
        return int(w3.eth.chain_id)
    except Exception as exc:
        error = translate_error(exc, decoder)
        if error is None:
            raise
        raise error from exc


def save_deployment(*, deployment: Deployment, path: Path) -> None:
    """Write ``deployment`` to ``path`` as JSON, atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(deployment.to_json(), indent=2, sort_keys=True) + "\n"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def load_deployment(*, path: Path) -> Deployment:
    """Read a deployment record; `ConfigurationError` if it is missing or corrupt."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"no deployment recorded at {path}; deploy first") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the deployment record {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"the deployment record {path} is not valid JSON: {exc}") from exc
    try:
        return Deployment.from_json(data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"the deployment record {path} is invalid: {exc}") from exc


def is_live(*, w3: Web3, deployment: Deployment) -> bool:
    """True when ``deployment`` is on the chain ``w3`` talks to (same chain id, code present)."""
    decoder = ErrorDecoder([])
    if _chain_id(w3, decoder) != deployment.chain_id:
        return False
    try:
        return len(w3.eth.get_code(deployment.passport)) > 0
    except Exception as exc:
        error = translate_error(exc, decoder)
        if error is None:
            raise
        raise error from exc


def load_or_deploy(
    *,
    w3: Web3,
    path: Path,
    admin: LocalAccount,
    base_uri: str = DEFAULT_BASE_URI,
) -> tuple[Deployment, bool]:
    """The recorded deployment if it is live on this chain, else a fresh one (saved to ``path``).

    Returns ``(deployment, freshly_deployed)``. A corrupt record raises `ConfigurationError`
    rather than being overwritten: it may be the only note of a real deployment. A live record
    without a market gets one (`add_market`) and is saved again; that is not "fresh": the
    passport and its items are kept.
    """
    if path.exists():
        recorded = load_deployment(path=path)
        if is_live(w3=w3, deployment=recorded):
            if recorded.market is None:
                recorded = add_market(w3=w3, deployment=recorded, admin=admin)
                save_deployment(deployment=recorded, path=path)
            return recorded, False
    deployment = deploy(w3=w3, admin=admin, base_uri=base_uri)
    save_deployment(deployment=deployment, path=path)
    return deployment, True


class _CallableModule(types.ModuleType):
    """This module, callable as `deploy`.

    ``ledger`` exports the function `deploy`, but importing the submodule ``ledger.deploy``
    rebinds the package attribute ``ledger.deploy`` to the module. Making the module callable
    keeps ``ledger.deploy(w3=..., admin=...)`` and ``from ledger import deploy`` working either
    way, while ``ledger.deploy.load_deployment`` and friends still resolve.
    """

    def __call__(self, *, w3: Web3, admin: LocalAccount, **options: Any) -> Deployment:
        return deploy(w3=w3, admin=admin, **options)


sys.modules[__name__].__class__ = _CallableModule
