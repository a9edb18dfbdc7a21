"""API keys for the gateway, and the encrypted keystores of the accounts they sign with.

Why this exists: the HTTP gateway (``api/``) and the ``provenance keys`` CLI manage the same keys,
so the rules live here rather than in either of them.

API keys
    Random (``secrets.token_urlsafe``), shown once, stored only as SHA-256 hashes in the SQLite
    file ``<data dir>/gateway.db`` (`KeyStore`). Each key maps to one on-chain account and one
    role; the gateway signs a key's writes with that account only, so a key can never act as
    another account. A revoked key is refused at the next request: nothing is cached.
    The *bootstrap admin key* (id ``admin``) maps to the deployment admin; it comes from
    ``PROVENANCE_ADMIN_API_KEY`` or from ``<data dir>/admin.key`` (generated on first start,
    mode 0600) and is re-registered at every start, so it cannot be revoked, only rotated.

Account keystores
    Accounts created for keys are kept as V3 keystore files (eth-keyfile, scrypt) under
    ``<data dir>/keystore/``, encrypted with a password generated once into
    ``<data dir>/keystore.secret`` (mode 0600). `Keyring` finds the signing key for an address:
    the admin, a keystore file, or a development account of a local chain.

`KeyManager` puts the two together for one chain and data directory: ``POST/GET/DELETE /keys``
and ``provenance keys create/list/revoke`` both call it. On a local chain it reserves the last
development account as the faucet (never bound to a key) and funds each new key's account from
it before the key is issued.

Secrets never appear in log lines, exception messages or ``repr``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import eth_keyfile
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address
from web3 import Web3

from ledger.chain import dev_accounts
from ledger.client import parse_address
from ledger.errors import ConfigurationError, Conflict, InputError, NotFound
from ledger.faucet import DEFAULT_TOP_UP_WEI, Faucet
from ledger.localdb import LocalDatabase

__all__ = [
    "ADMIN_KEY_FILE",
    "BOOTSTRAP_ADMIN_KEY_ID",
    "KEYSTORE_DIR",
    "KEYSTORE_SECRET_FILE",
    "AccountKeystore",
    "AccountNotSignable",
    "AccountReserved",
    "AdminAddressMismatch",
    "ApiKey",
    "BootstrapKeyNotRevocable",
    "KeyManager",
    "KeyNotFound",
    "KeyRole",
    "KeyStore",
    "Keyring",
    "ProvisionedKey",
    "hash_api_key",
    "provision_api_key",
    "read_or_create_secret",
]

BOOTSTRAP_ADMIN_KEY_ID = "admin"
ADMIN_KEY_FILE = "admin.key"
KEYSTORE_DIR = "keystore"
KEYSTORE_SECRET_FILE = "keystore.secret"
_KEY_PREFIX = "plk_"
_MAX_NAME_LENGTH = 100


class KeyRole(StrEnum):
    """What an API key may do at the gateway (the chain still checks the account's vetting)."""

    ADMIN = "admin"
    MERCHANT = "merchant"
    AUTHENTICATOR = "authenticator"
    ARBITER = "arbiter"
    BRAND = "brand"


# ---------------------------------------------------------------------- errors


class KeyNotFound(NotFound):
    code = "key_not_found"
    template = "there is no API key with id {keyId}"

    def __init__(self, key_id: str) -> None:
        super().__init__("KeyNotFound", {"keyId": key_id})


class BootstrapKeyNotRevocable(Conflict):
    code = "bootstrap_key_not_revocable"
    template = (
        "the bootstrap admin key cannot be revoked; rotate it by changing "
        "PROVENANCE_ADMIN_API_KEY or deleting admin.key and restarting"
    )

    def __init__(self) -> None:
        super().__init__("BootstrapKeyNotRevocable", {})


class AccountNotSignable(InputError):
    code = "account_not_signable"

    def __init__(self, address: str) -> None:
        super().__init__(
            f"the gateway holds no signing key for {address}: omit the address to create a new "
            "account, or use a development account of a local chain",
            field="address",
        )


class AccountReserved(InputError):
    code = "account_reserved"

    def __init__(self, address: str, *, why: str) -> None:
        super().__init__(f"{address} is {why} and cannot be bound to this key", field="address")


class AdminAddressMismatch(InputError):
    code = "invalid_admin_address"

    def __init__(self, address: str, admin: str) -> None:
        super().__init__(
            f"an admin key maps to the platform admin {admin}, not {address}", field="address"
        )


# ---------------------------------------------------------------------- secrets on disk


def _write_private(path: Path, text: str, *, exclusive: bool) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the start (never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_or_create_secret(path: Path, *, prefix: str = "") -> str:
    """The secret stored in ``path``, generating it (mode 0600) if the file does not exist."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        secret = prefix + secrets.token_urlsafe(32)
        try:
            _write_private(path, secret + "\n", exclusive=True)
        except FileExistsError:  # another process created it first: use theirs
            return read_or_create_secret(path, prefix=prefix)
        return secret
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not secret:
        raise ConfigurationError(f"{path} is empty; delete it to have a new secret generated")
    return secret


def hash_api_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------- API keys


@dataclass(frozen=True)
class ApiKey:
    """An API key's record; the secret itself is never stored."""

    id: str
    role: KeyRole
    name: str
    address: ChecksumAddress
    created_at: int
    revoked_at: int | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class ProvisionedKey:
    """A freshly created key: its record, its secret (show it once), whether a new account was
    created for it, and the gas money sent to that account (local chains)."""

    key: ApiKey
    secret: str
    account_created: bool
    funded_wei: int = 0
    funding_tx_hash: str | None = None

    def __repr__(self) -> str:  # never show the secret
        return (
            f"ProvisionedKey(key={self.key!r}, account_created={self.account_created}, "
            f"funded_wei={self.funded_wei})"
        )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
"""


def _row_to_key(row: Any) -> ApiKey:
    return ApiKey(
        id=str(row["id"]),
        role=KeyRole(row["role"]),
        name=str(row["name"]),
        address=to_checksum_address(row["address"]),
        created_at=int(row["created_at"]),
        revoked_at=None if row["revoked_at"] is None else int(row["revoked_at"]),
    )


class KeyStore:
    """API keys in the gateway database (see the module docstring)."""

    def __init__(self, db: LocalDatabase) -> None:
        self._db = db
        db.script(_SCHEMA)

    @classmethod
    def open(cls, data_dir: Path) -> KeyStore:
        """The keys in ``<data_dir>/gateway.db``, on a database of their own (see `close`)."""
        return cls(LocalDatabase.open(data_dir))

    def close(self) -> None:
        """Close the database; only for a store from `open`, whose database nobody shares."""
        self._db.close()

    def create(self, *, role: KeyRole | str, name: str, address: str) -> tuple[ApiKey, str]:
        """Record a new key for ``address``; returns the record and the secret (shown once)."""
        key_role = _role(role)
        clean_name = _name(name)
        account = parse_address(address, field="address")
        secret = _KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = "key_" + secrets.token_hex(8)
        now = int(time.time())
        self._db.execute(
            "INSERT INTO api_keys (id, key_hash, role, name, address, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, hash_api_key(secret), key_role.value, clean_name, account, now),
        )
        return ApiKey(key_id, key_role, clean_name, account, now, None), secret

    def ensure_bootstrap_admin(self, *, secret: str, address: str) -> ApiKey:
        """(Re-)register ``secret`` as the bootstrap admin key for ``address``.

        Called at every start, so changing the configured secret rotates the key at once.
        """
        if len(secret) < 16:
            raise ConfigurationError("the admin API key must be at least 16 characters long")
        account = parse_address(address, field="address")
        now = int(time.time())
        with self._db.transaction() as conn:
            # A user-made key with the same secret would shadow it; refuse rather than guess.
            clash = conn.execute(
                "SELECT id FROM api_keys WHERE key_hash = ? AND id != ?",
                (hash_api_key(secret), BOOTSTRAP_ADMIN_KEY_ID),
            ).fetchone()
            if clash is not None:
                raise ConfigurationError("the admin API key is already in use by another key")
            conn.execute(
                "INSERT INTO api_keys (id, key_hash, role, name, address, created_at) "
                "VALUES (?, ?, 'admin', 'bootstrap admin', ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET key_hash = excluded.key_hash, "
                "address = excluded.address, revoked_at = NULL",
                (BOOTSTRAP_ADMIN_KEY_ID, hash_api_key(secret), account, now),
            )
        found = self.get(BOOTSTRAP_ADMIN_KEY_ID)
        assert found is not None
        return found

    def get(self, key_id: str) -> ApiKey | None:
        rows = self._db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        return _row_to_key(rows[0]) if rows else None

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        sql = "SELECT * FROM api_keys"
        if not include_revoked:
            sql += " WHERE revoked_at IS NULL"
        return [_row_to_key(row) for row in self._db.execute(sql + " ORDER BY created_at, id")]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent); `KeyNotFound` if there is no such key."""
        if key_id == BOOTSTRAP_ADMIN_KEY_ID:
            raise BootstrapKeyNotRevocable()
        self._db.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (int(time.time()), key_id),
        )
        found = self.get(key_id)
        if found is None:
            raise KeyNotFound(key_id)
        return found

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active key whose secret is ``secret``, or None (unknown or revoked)."""
        if not secret:
            return None
        rows = self._db.execute(
            "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
            (hash_api_key(secret),),
        )
        return _row_to_key(rows[0]) if rows else None


def _role(value: KeyRole | str) -> KeyRole:
    try:
        return KeyRole(value)
    except ValueError:
        choices = ", ".join(r.value for r in KeyRole)
        raise InputError(f"role must be one of {choices}, got {value!r}", field="role") from None


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError("name must be non-empty text", field="name")
    if len(value) > _MAX_NAME_LENGTH:
        raise InputError(f"name must be at most {_MAX_NAME_LENGTH} characters", field="name")
    return value.strip()


# ---------------------------------------------------------------------- account keystores


class AccountKeystore:
    """Encrypted V3 keystore files, one per account, in one directory."""

    def __init__(
        self, *, directory: Path, secret_path: Path, work_factor: int | None = None
    ) -> None:
        self.directory = directory
        self._secret_path = secret_path
        # eth-keyfile's default scrypt work factor (2**18) costs ~0.7 s per create or load;
        # tests pass a small one.
        self._work_factor = work_factor
        self._password: bytes | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path, *, work_factor: int | None = None) -> AccountKeystore:
        return cls(
            directory=data_dir / KEYSTORE_DIR,
            secret_path=data_dir / KEYSTORE_SECRET_FILE,
            work_factor=work_factor,
        )

    def _password_bytes(self) -> bytes:
        with self._lock:
            if self._password is None:
                self._password = read_or_create_secret(self._secret_path).encode("utf-8")
            return self._password

    def path_for(self, address: str) -> Path:
        return self.directory / f"{to_checksum_address(address)}.json"

    def exists(self, address: str) -> bool:
        return self.path_for(address).is_file()

    def addresses(self) -> list[ChecksumAddress]:
        if not self.directory.is_dir():
            return []
        return sorted(to_checksum_address(p.stem) for p in self.directory.glob("0x*.json"))

    def create(self) -> LocalAccount:
        """A new random account, saved encrypted before it is returned."""
        account: LocalAccount = EthAccount.create()
        keyfile = eth_keyfile.create_keyfile_json(
            account.key, self._password_bytes(), kdf="scrypt", iterations=self._work_factor
        )
        keyfile["address"] = account.address[2:].lower()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(self.path_for(account.address), json.dumps(keyfile), exclusive=True)
        return account

    def load(self, address: str) -> LocalAccount:
        path = self.path_for(address)
        try:
            keyfile = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"no keystore for {address} in {self.directory}") from None
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read keystore {path}: {exc}") from None
        try:
            key = eth_keyfile.decode_keyfile_json(keyfile, self._password_bytes())
        except Exception:  # wrong password, corrupt file: say which file, never the secret
            raise ConfigurationError(
                f"cannot decrypt keystore {path} with {self._secret_path}"
            ) from None
        account: LocalAccount = EthAccount.from_key(key)
        if account.address != to_checksum_address(address):
            raise ConfigurationError(f"keystore {path} holds the key of {account.address}")
        return account


class Keyring:
    """The signing keys the gateway holds: the admin, dev accounts, and keystore accounts."""

    def __init__(
        self,
        *,
        keystore: AccountKeystore,
        accounts: Iterable[LocalAccount] = (),
        reserved: Iterable[str] = (),
    ) -> None:
        self.keystore = keystore
        self._accounts: dict[ChecksumAddress, LocalAccount] = {a.address: a for a in accounts}
        self._reserved = {to_checksum_address(a) for a in reserved}
        self._lock = threading.Lock()

    def is_reserved(self, address: str) -> bool:
        return to_checksum_address(address) in self._reserved

    def can_sign(self, address: str) -> bool:
        checksum = to_checksum_address(address)
        return checksum in self._accounts or self.keystore.exists(checksum)

    def get(self, address: str) -> LocalAccount | None:
        """The signing account for ``address``, decrypting its keystore on first use."""
        checksum = to_checksum_address(address)
        with self._lock:
            found = self._accounts.get(checksum)
            if found is None and self.keystore.exists(checksum):
                found = self._accounts[checksum] = self.keystore.load(checksum)
            return found

    def create_account(self) -> LocalAccount:
        account = self.keystore.create()
        with self._lock:
            self._accounts[account.address] = account
        return account


def provision_api_key(
    *,
    keys: KeyStore,
    keyring: Keyring,
    role: KeyRole | str,
    name: str,
    admin: str,
    address: str | None = None,
    faucet: Faucet | None = None,
) -> ProvisionedKey:
    """Create an API key, creating a keystore account for it when no ``address`` is given.

    Admin keys map to ``admin`` (the platform admin). Other keys map to ``address``, which must
    be an account whose key the keyring holds, and never to the admin or a reserved account
    (the faucet): a merchant key must not carry admin powers.

    With a ``faucet`` (local chains), a non-admin key's account is topped up once it is known
    and before the key exists: if that fails, no key is issued, since a key whose account cannot
    pay for gas would fail on its first write.
    """
    key_role = _role(role)
    _name(name)
    admin_address = to_checksum_address(admin)
    if key_role is KeyRole.ADMIN:
        if address is not None and parse_address(address, field="address") != admin_address:
            raise AdminAddressMismatch(address, admin_address)
        key, secret = keys.create(role=key_role, name=name, address=admin_address)
        return ProvisionedKey(key=key, secret=secret, account_created=False)
    created = False
    if address is None:
        account = keyring.create_account().address
        created = True
    else:
        account = parse_address(address, field="address")
        if account == admin_address:
            raise AccountReserved(account, why="the platform admin")
        if keyring.is_reserved(account):
            raise AccountReserved(account, why="reserved by the gateway (faucet)")
        if not keyring.can_sign(account):
            raise AccountNotSignable(account)
    funded, funding_tx = 0, None
    if faucet is not None:
        funded, tx = faucet.top_up(account)
        funding_tx = tx.tx_hash if tx is not None else None
    key, secret = keys.create(role=key_role, name=name, address=account)
    return ProvisionedKey(
        key=key,
        secret=secret,
        account_created=created,
        funded_wei=funded,
        funding_tx_hash=funding_tx,
    )


# ---------------------------------------------------------------------- key management


@dataclass
class KeyManager:
    """API keys, the signing keys behind them and the faucet, for one chain and data directory.

    Open it with `KeyManager.open`; the gateway keeps one for its lifetime, the CLI one per
    command.
    """

    keys: KeyStore
    keyring: Keyring
    admin: LocalAccount
    faucet: Faucet | None
    _db: LocalDatabase | None = None  # closed by `close` when `open` opened it

    @classmethod
    def open(
        cls,
        *,
        w3: Web3,
        data_dir: Path,
        admin: LocalAccount,
        db: LocalDatabase | None = None,
        work_factor: int | None = None,
        faucet_wei: int = DEFAULT_TOP_UP_WEI,
    ) -> KeyManager:
        """Key management on ``w3`` with its data in ``data_dir``; ``admin`` is the platform
        admin (the caller checks that it is). ``db`` defaults to ``<data_dir>/gateway.db``.

        On a chain with development accounts those can be bound to keys, except the last one,
        which is reserved as the faucet; a public chain has neither.
        """
        try:
            devs = dev_accounts(w3)
        except ConfigurationError:
            devs = []  # a public chain: no dev accounts, no faucet
        # The last dev account pays for gas top-ups; it is never bound to a key, so the
        # faucet's sender is the only one in this process sending from it.
        faucet_account = devs[-1] if len(devs) > 1 and devs[-1].address != admin.address else None
        signers = [admin, *(a for a in devs if a is not faucet_account)]
        keyring = Keyring(
            keystore=AccountKeystore.open(data_dir, work_factor=work_factor),
            accounts=signers,
            reserved=[faucet_account.address] if faucet_account else [],
        )
        owned = db is None
        database = LocalDatabase.open(data_dir) if db is None else db
        try:
            keys = KeyStore(database)
        except BaseException:
            if owned:
                database.close()
            raise
        return cls(
            keys=keys,
            keyring=keyring,
            admin=admin,
            faucet=(
                Faucet(w3=w3, account=faucet_account, amount=faucet_wei)
                if faucet_account is not None
                else None
            ),
            _db=database if owned else None,
        )

    def create(
        self, *, role: KeyRole | str, name: str, address: str | None = None
    ) -> ProvisionedKey:
        """Issue a key (see `provision_api_key`); its account is funded on local chains."""
        return provision_api_key(
            keys=self.keys,
            keyring=self.keyring,
            role=role,
            name=name,
            admin=self.admin.address,
            address=address,
            faucet=self.faucet,
        )

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        return self.keys.list(include_revoked=include_revoked)

    def revoke(self, key_id: str) -> ApiKey:
        return self.keys.revoke(key_id)

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()
