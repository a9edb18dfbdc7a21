"""Deploying the `ItemPassport` contract and remembering where it went.

Why this exists: every command needs "the passport on this chain". A deployment is recorded as a
small JSON file (written atomically, so a crash never leaves half a file), and `load_or_deploy`
reuses it only when it still holds on the chain at hand: same chain id, and code at the address
(an anvil restarted without its state file keeps the chain id but loses the contract).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils import is_address, to_checksum_address
from web3 import Web3

from ledger.artifacts import load_artifact
from ledger.errors import ConfigurationError, ErrorDecoder, InputError, TransactionError
from ledger.tx import TransactionSender, translate_error, tx_result

__all__ = [
    "CONTRACT_NAME",
    "DEFAULT_BASE_URI",
    "Deployment",
    "deploy",
    "load_deployment",
    "load_or_deploy",
    "save_deployment",
]

CONTRACT_NAME = "ItemPassport"
DEFAULT_BASE_URI = "http://127.0.0.1:8000/items/"
_FORMAT_VERSION = 1
_MAX_ADMIN_TRANSFER_DELAY = 2**48 - 1


@dataclass(frozen=True)
class Deployment:
    """Where the passport contract lives on one chain, and who administers it."""

    chain_id: int
    passport: ChecksumAddress
    block_number: int
    tx_hash: str
    admin: ChecksumAddress

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "contract": CONTRACT_NAME,
            "chain_id": self.chain_id,
            "passport": self.passport,
            "block_number": self.block_number,
            "tx_hash": self.tx_hash,
            "admin": self.admin,
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
        return cls(
            chain_id=chain_id,
            passport=to_checksum_address(passport),
            block_number=block_number,
            tx_hash=tx_hash.lower(),
            admin=to_checksum_address(admin),
        )


def passport_abi() -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = load_artifact(CONTRACT_NAME)["abi"]
    return abi


def deploy(
    *,
    w3: Web3,
    admin: LocalAccount,
    base_uri: str = DEFAULT_BASE_URI,
    admin_transfer_delay: int = 0,
) -> Deployment:
    """Deploy a new `ItemPassport` administered by ``admin`` and wait until it is mined."""
    if not 0 <= admin_transfer_delay <= _MAX_ADMIN_TRANSFER_DELAY:
        raise InputError(
            "admin_transfer_delay must fit in uint48 seconds", field="admin_transfer_delay"
        )
    artifact = load_artifact(CONTRACT_NAME)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    constructor = factory.constructor(admin.address, admin_transfer_delay, base_uri)
    init_code = cast(HexStr, constructor.data_in_transaction)
    decoder = ErrorDecoder([artifact["abi"]])
    chain_id = _chain_id(w3, decoder)
    sender = TransactionSender(w3=w3, account=admin, decoder=decoder)
    receipt = sender.transact(to=None, data=init_code)
    address = receipt.get("contractAddress")
    if not address:
        raise TransactionError("the deployment was mined but created no contract")
    result = tx_result(receipt)
    return Deployment(
        chain_id=chain_id,
        passport=to_checksum_address(address),
        block_number=result.block_number,
        tx_hash=result.tx_hash,
        admin=admin.address,
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
    rather than being overwritten: it may be the only note of a real deployment.
    """
    if path.exists():
        recorded = load_deployment(path=path)
        if is_live(w3=w3, deployment=recorded):
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

    def __call__(
        self,
        *,
        w3: Web3,
        admin: LocalAccount,
        base_uri: str = DEFAULT_BASE_URI,
        admin_transfer_delay: int = 0,
    ) -> Deployment:
        return deploy(
            w3=w3, admin=admin, base_uri=base_uri, admin_transfer_delay=admin_transfer_delay
        )


sys.modules[__name__].__class__ = _CallableModule
