"""Where the command-line tools find their chain, their data and their signing key.

Why this exists: the ``provenance`` CLI and the developer scripts (``scripts/*.py``) take the same
settings, with the same environment variables and the same rules for choosing a signing account,
and both keep one deployment record per chain id under the data directory. Keeping those rules in
one place stops the two from drifting apart.

Signing account, first match wins:

1. ``--key-file FILE`` (``PROVENANCE_KEY_FILE``): an encrypted V3 keystore JSON (password from
   ``PROVENANCE_KEY_PASSWORD``, else asked for) or a text file holding one hex private key;
2. ``--account N`` (``PROVENANCE_ACCOUNT``): development account N of a local chain;
3. ``PROVENANCE_PRIVATE_KEY``: a hex private key. Deliberately no command-line option, because
   command lines end up in shell history and ``ps`` output;
4. otherwise development account 0 (the deployer and admin) when the chain has development
   accounts, and no signer at all on a public chain (read-only commands still work).

A private key is never put in a message, including the messages of errors about it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.chain import dev_accounts
from ledger.errors import ConfigurationError, InputError

__all__ = [
    "ACCOUNT_ENV_VAR",
    "CHAIN_ENV_VAR",
    "DATA_DIR_ENV_VAR",
    "DEFAULT_CHAIN",
    "DEFAULT_DATA_DIR",
    "KEY_FILE_ENV_VAR",
    "KEY_PASSWORD_ENV_VAR",
    "PRIVATE_KEY_ENV_VAR",
    "Signer",
    "deployment_path",
    "resolve_signer",
]

CHAIN_ENV_VAR = "PROVENANCE_CHAIN"
DATA_DIR_ENV_VAR = "PROVENANCE_DATA_DIR"
KEY_FILE_ENV_VAR = "PROVENANCE_KEY_FILE"
KEY_PASSWORD_ENV_VAR = "PROVENANCE_KEY_PASSWORD"
PRIVATE_KEY_ENV_VAR = "PROVENANCE_PRIVATE_KEY"
ACCOUNT_ENV_VAR = "PROVENANCE_ACCOUNT"

DEFAULT_CHAIN = "anvil"
DEFAULT_DATA_DIR = Path(".provenance")


def deployment_path(*, data_dir: Path, chain_id: int) -> Path:
    """The deployment record of chain ``chain_id``: ``<data_dir>/deployment-<chain_id>.json``."""
    return data_dir / f"deployment-{chain_id}.json"


@dataclass(frozen=True)
class Signer:
    """The account that signs, and a description of where it came from (never the key)."""

    account: LocalAccount
    source: str


def resolve_signer(
    *,
    w3: Web3,
    key_file: Path | None = None,
    account_index: int | None = None,
    environ: Mapping[str, str] | None = None,
    ask_password: Callable[[str], str] | None = None,
) -> Signer | None:
    """The signing account chosen by the rules in the module docstring, or None (read-only).

    ``environ`` defaults to ``os.environ``; ``ask_password(prompt)`` is used for an encrypted key
    file when ``PROVENANCE_KEY_PASSWORD`` is unset (without it, that is a `ConfigurationError`).
    """
    env = os.environ if environ is None else environ
    if key_file is not None and account_index is not None:
        raise InputError("give either --key-file or --account, not both", field="--account")
    if key_file is not None:
        password = env.get(KEY_PASSWORD_ENV_VAR)
        return Signer(
            account=_load_key_file(key_file, password=password, ask_password=ask_password),
            source=f"key file {key_file}",
        )
    if account_index is not None:
        if account_index < 0:
            raise InputError("--account must be 0 or more", field="--account")
        accounts = dev_accounts(w3)
        if account_index >= len(accounts):
            raise InputError(
                f"--account {account_index}: the chain has {len(accounts)} development accounts "
                f"(0-{len(accounts) - 1})",
                field="--account",
            )
        return Signer(
            account=accounts[account_index], source=f"development account {account_index}"
        )
    env_key = env.get(PRIVATE_KEY_ENV_VAR)
    if env_key:
        return Signer(
            account=_account_from_hex(env_key, origin=f"${PRIVATE_KEY_ENV_VAR}"),
            source=f"${PRIVATE_KEY_ENV_VAR}",
        )
    try:
        default = dev_accounts(w3)
    except ConfigurationError:
        return None  # a public chain: read-only until a key is configured
    return Signer(account=default[0], source="development account 0") if default else None


def _account_from_hex(text: str, *, origin: str) -> LocalAccount:
    key = text.strip()
    body = key[2:] if key[:2] in ("0x", "0X") else key
    if len(body) != 64:
        # The length is safe to show; the key itself is not.
        raise ConfigurationError(
            f"{origin} must hold a 32-byte hex private key (64 hex digits), "
            f"got {len(body)} characters"
        )
    try:
        account: LocalAccount = EthAccount.from_key(bytes.fromhex(body))
    except ValueError:
        raise ConfigurationError(f"{origin} does not hold a valid hex private key") from None
    return account


def _load_key_file(
    path: Path,
    *,
    password: str | None,
    ask_password: Callable[[str], str] | None,
) -> LocalAccount:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read key file {path}: {exc.strerror or exc}", field="--key-file"
        ) from None
    stripped = text.strip()
    if not stripped.startswith("{"):
        return _account_from_hex(stripped, origin=f"key file {path}")
    try:
        keystore = json.loads(stripped)
    except ValueError:
        raise ConfigurationError(
            f"key file {path} is neither a keystore JSON nor a hex key"
        ) from None
    if password is None:
        if ask_password is None:
            raise ConfigurationError(
                f"key file {path} is encrypted: set ${KEY_PASSWORD_ENV_VAR} to its password"
            )
        password = ask_password(f"Password for {path}")
    try:
        key = EthAccount.decrypt(keystore, password)
    except ValueError:
        # eth-account says "MAC mismatch" for a wrong password; keep the message about the file.
        raise ConfigurationError(f"cannot decrypt key file {path}: wrong password?") from None
    except (KeyError, TypeError):
        raise ConfigurationError(f"key file {path} is not a valid V3 keystore") from None
    account: LocalAccount = EthAccount.from_key(key)
    return account
