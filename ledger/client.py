"""`ProvenanceClient`: the typed, validated way to read and write item passports.

Why this exists: callers (CLI, API, importers) think in labels, JSON documents and accounts, the
contract in 32-byte ids, hashes and enum ordinals. The client converts between the two, checks
inputs before anything is sent (an `InputError` names the field), and raises the contract's own
error classes (see `ledger.errors`) for anything the chain refuses, having spent no gas on it.

Evidence arguments (credentials, reasons, reports...) accept 32 raw bytes or a 0x-hex string
(a hash, used as is), a mapping (a JSON document, hashed with `hash_document`), or other bytes
or text (hashed as raw data), so a caller can pass whatever it holds.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import is_address, is_checksum_address, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from ledger import history as _history
from ledger.deploy import Deployment, market_abi, passport_abi
from ledger.errors import (
    ConfigurationError,
    ErrorDecoder,
    InputError,
    ItemAlreadyRegistered,
    LedgerError,
)
from ledger.hashing import hash_bytes, hash_document, item_id
from ledger.history import HistoryEvent
from ledger.signatures import (
    Eip712Domain,
    PermitMessage,
    TransferMessage,
    parse_signature,
    read_domain,
    sign_permit,
    sign_transfer,
)
from ledger.tx import TransactionSender, _encode_call, call_view, translate_error, tx_result
from ledger.types import (
    Account,
    AccountStatus,
    ConditionGrade,
    Hash32,
    Item,
    ItemId,
    ItemStatus,
    RetirementKind,
    Role,
    ServiceKind,
    TxResult,
    Verdict,
)

__all__ = [
    "ARE_REGISTERED_CHUNK",
    "BatchResult",
    "ContractClient",
    "Evidence",
    "NewItem",
    "ProvenanceClient",
    "Registration",
    "Verification",
    "contract_decoder",
    "evidence_hash",
    "parse_address",
    "parse_item_id",
    "parse_member",
]

E = TypeVar("E", bound=IntEnum)

ARE_REGISTERED_CHUNK = 500
"""Ids per ``areRegistered`` eth_call: well inside node calldata and gas limits for a view."""

ALREADY_REGISTERED = "already registered"
DUPLICATE_IN_INPUT = "duplicate in input"

Evidence = Hash32 | bytes | Mapping[str, Any] | str
_ZERO_ADDRESS = "0x" + "00" * 20
_ZERO_HASH = Hash32(b"\x00" * 32)


@dataclass(frozen=True)
class NewItem:
    """One item to register: its label, its metadata document and where that can be fetched."""

    brand: str
    serial: str
    metadata: Mapping[str, Any]
    metadata_uri: str = ""


@dataclass(frozen=True)
class Registration:
    item_id: ItemId
    metadata_hash: Hash32
    tx: TxResult


@dataclass(frozen=True)
class BatchResult:
    """What a batch registration did: ids registered, and ids skipped with the reason."""

    registered: list[Registration] = field(default_factory=list)
    skipped: list[tuple[ItemId, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Verification:
    """Whether a metadata document is the item's current one."""

    item_id: ItemId
    matches: bool
    given_hash: Hash32
    registered_hash: Hash32 | None
    item: Item

    @classmethod
    def check(
        cls, *, item: Item, registered_hash: Hash32 | None, metadata: Mapping[str, Any]
    ) -> Verification:
        """Compare ``metadata`` with ``registered_hash``, the item's current metadata hash as
        read from the chain (`ProvenanceClient.verify`) or from the event index."""
        given = _document_hash(metadata, field="metadata")
        return cls(
            item_id=item.item_id,
            matches=registered_hash == given,
            given_hash=given,
            registered_hash=registered_hash,
            item=item,
        )


# ---------------------------------------------------------------------- input validation


def parse_address(value: object, *, field: str, allow_zero: bool = False) -> ChecksumAddress:
    """A checksummed address from ``value``; `InputError` naming ``field`` otherwise.

    Mixed-case input must carry a valid EIP-55 checksum (a typo in one character is caught);
    all-lowercase or all-uppercase hex is accepted as is.
    """
    if not isinstance(value, str) or not is_address(value.lower()):
        raise InputError(
            f"{field} must be a 0x-prefixed 20-byte hex address, got {value!r}", field=field
        )
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise InputError(f"{field} has an invalid EIP-55 checksum: {value}", field=field)
    address = to_checksum_address(value)
    if not allow_zero and address == _ZERO_ADDRESS:
        raise InputError(f"{field} must not be the zero address", field=field)
    return address


def _parse_hex32(value: str, *, field: str) -> bytes:
    text = value[2:]
    if len(text) != 64:
        raise InputError(
            f"{field} must be 32 bytes of 0x-hex (64 digits), got {value!r}", field=field
        )
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InputError(f"{field} is not valid hex: {value!r}", field=field) from None


def parse_item_id(value: object, *, field: str = "item_id") -> ItemId:
    """An item id from 32 raw bytes or a 0x-hex string."""
    if isinstance(value, bytes | bytearray):
        if len(value) != 32:
            raise InputError(f"{field} must be 32 bytes, got {len(value)}", field=field)
        raw = bytes(value)
    elif isinstance(value, str) and value[:2] in ("0x", "0X"):
        raw = _parse_hex32(value, field=field)
    else:
        raise InputError(f"{field} must be 32 bytes or 0x-hex, got {value!r}", field=field)
    if raw == bytes(32):
        raise InputError(f"{field} must not be zero", field=field)
    return ItemId(raw)


def evidence_hash(value: object, *, field: str) -> Hash32:
    """The 32-byte hash for an `Evidence` value (see the module docstring)."""
    if isinstance(value, Mapping):
        return _document_hash(value, field=field)
    if isinstance(value, bytes | bytearray):
        if not value:
            raise InputError(f"{field} is empty", field=field)
        return Hash32(bytes(value)) if len(value) == 32 else hash_bytes(bytes(value))
    if isinstance(value, str):
        if value[:2] in ("0x", "0X"):
            return Hash32(_parse_hex32(value, field=field))
        if not value:
            raise InputError(f"{field} is empty", field=field)
        return hash_bytes(value.encode("utf-8"))
    raise InputError(
        f"{field} must be a hash, a JSON object, bytes or text, not {type(value).__name__}",
        field=field,
    )


def _document_hash(document: object, *, field: str) -> Hash32:
    if not isinstance(document, Mapping):
        raise InputError(
            f"{field} must be a JSON object, not {type(document).__name__}", field=field
        )
    try:
        return hash_document(dict(document))
    except Exception as exc:  # rfc8785 refuses NaN, huge ints, non-string keys...
        raise InputError(f"{field} cannot be canonicalised as JSON: {exc}", field=field) from exc


def _label_id(*, brand: object, serial: object) -> ItemId:
    for name, value in (("brand", brand), ("serial", serial)):
        if not isinstance(value, str):
            raise InputError(f"{name} must be text, not {type(value).__name__}", field=name)
    assert isinstance(brand, str) and isinstance(serial, str)
    try:
        return item_id(brand=brand, serial=serial)
    except ValueError as exc:
        name = "brand" if "brand" in str(exc) else "serial"
        raise InputError(str(exc), field=name) from exc


def _uri(value: object, *, field: str = "metadata_uri") -> str:
    if not isinstance(value, str):
        raise InputError(f"{field} must be text", field=field)
    return value


def parse_member(enum: type[E], value: object, *, field: str) -> E:
    """An enum member from a member, its ordinal or its name (any case, ``-`` or space for
    ``_``), as callers and JSON bodies spell it; `InputError` naming ``field`` otherwise."""
    if isinstance(value, enum):
        return value
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return enum(value)
        if isinstance(value, str):
            return enum[value.strip().upper().replace("-", "_").replace(" ", "_")]
    except (KeyError, ValueError):
        pass
    names = ", ".join(m.name.lower() for m in enum)
    raise InputError(f"{field} must be one of {names}, got {value!r}", field=field)


def _enum(enum: type[IntEnum], value: object, *, field: str) -> int:
    return int(parse_member(enum, value, field=field))


# ---------------------------------------------------------------------- the clients


def contract_decoder() -> ErrorDecoder:
    """An `ErrorDecoder` for every contract of a deployment (the market's calls into the
    passport can revert with the passport's errors, and the other way round for relays)."""
    return ErrorDecoder([passport_abi(), market_abi()])


class ContractClient:
    """What every client of a `Deployment` shares: the chain, the signing account and its
    `TransactionSender`, and one `ErrorDecoder` for all our contracts.

    With ``account=None`` the client is read-only and every write raises `ConfigurationError`.
    Clients that sign as the same account should share one sender (``sender=``, or
    `MarketClient.from_client`): its local nonce counter is what keeps their sends from
    colliding. A client (and its sender) may be shared between threads.
    """

    def __init__(
        self,
        *,
        w3: Web3,
        deployment: Deployment,
        account: LocalAccount | None = None,
        gas_margin: float = 1.2,
        sender: TransactionSender | None = None,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.decoder = contract_decoder()
        if sender is not None and (account is None or sender.address != account.address):
            raise ConfigurationError("a shared sender must send for the client's own account")
        self._account = account
        if sender is None and account is not None:
            sender = TransactionSender(
                w3=w3, account=account, decoder=self.decoder, gas_margin=gas_margin
            )
        self._sender = sender

    @property
    def address(self) -> ChecksumAddress | None:
        """The signing account's address, or None for a read-only client."""
        return self._account.address if self._account is not None else None

    @property
    def account(self) -> LocalAccount | None:
        """The signing account (None for a read-only client)."""
        return self._account

    @property
    def sender(self) -> TransactionSender | None:
        """The transaction sender, for another client signing as the same account."""
        return self._sender

    # ------------------------------------------------------------------ plumbing

    def _read(self, call: ContractFunction) -> Any:
        return call_view(call, decoder=self.decoder, sender=self.address)

    def _signer(self) -> LocalAccount:
        if self._account is None:
            raise ConfigurationError("this client is read-only: give it an account to sign with")
        return self._account

    def _send(self, call: ContractFunction, *, value: int = 0) -> TxResult:
        return tx_result(self._send_for_receipt(call, value=value))

    def _send_for_receipt(self, call: ContractFunction, *, value: int = 0) -> TxReceipt:
        """Like `_send`, keeping the receipt for the events (new ids) it carries."""
        if self._sender is None:
            raise ConfigurationError("this client is read-only: give it an account to sign with")
        return self._sender.transact(to=call.address, data=_encode_call(call), value=value)

    def _chain(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        # Plain RPCs (logs, blocks) fail with web3 exceptions; give callers LedgerErrors.
        try:
            return action(*args, **kwargs)
        except LedgerError:
            raise
        except Exception as exc:
            error = translate_error(exc, self.decoder)
            if error is None:
                raise
            raise error from exc

    def chain_time(self) -> int:
        """The latest block's timestamp: "now" for deadlines and expiries on this chain."""
        block = self._chain(self.w3.eth.get_block, "latest")
        return int(block["timestamp"])


class ProvenanceClient(ContractClient):
    """Reads and writes the passport contract of one `Deployment`.

    With ``account=None`` the client is read-only and every write raises `ConfigurationError`.
    A client (and its `TransactionSender`) may be shared between threads.
    """

    def __init__(
        self,
        *,
        w3: Web3,
        deployment: Deployment,
        account: LocalAccount | None = None,
        gas_margin: float = 1.2,
        sender: TransactionSender | None = None,
    ) -> None:
        super().__init__(
            w3=w3, deployment=deployment, account=account, gas_margin=gas_margin, sender=sender
        )
        self.passport: Contract = w3.eth.contract(address=deployment.passport, abi=passport_abi())
        self.market: Contract | None = (
            w3.eth.contract(address=deployment.market, abi=market_abi())
            if deployment.market is not None
            else None
        )
        self._block_timestamps: MutableMapping[str, int] = {}
        self._domain: Eip712Domain | None = None

    def __repr__(self) -> str:
        return f"<ProvenanceClient {self.deployment.passport} as {self.address or 'read-only'}>"

    # ------------------------------------------------------------------ plumbing

    def _owner_or_self(self, owner: str | None) -> ChecksumAddress:
        if owner is not None:
            return parse_address(owner, field="owner")
        if self.address is None:
            raise ConfigurationError("this client is read-only: give it an account to sign with")
        return self.address

    # ------------------------------------------------------------------ reads

    def item(self, item_id: ItemId) -> Item:
        """The item's current state; `ItemNotRegistered` if there is no passport for it."""
        item = parse_item_id(item_id)
        owner, status, certified, by_admin, locked, verdict, registrant, registrant_id, nonce = (
            self._read(self.passport.functions.itemOf(item))
        )
        return Item(
            item_id=item,
            owner=to_checksum_address(owner),
            status=ItemStatus(status),
            brand_certified=bool(certified),
            flagged_by_admin=bool(by_admin),
            locked=bool(locked),
            last_verdict=Verdict(verdict),
            registrant=to_checksum_address(registrant),
            registrant_id=int(registrant_id),
            transfer_nonce=int(nonce),
        )

    def item_by_label(self, *, brand: str, serial: str) -> Item:
        return self.item(_label_id(brand=brand, serial=serial))

    def are_registered(self, item_ids: Sequence[ItemId]) -> list[bool]:
        """For each id, whether it has a passport (one eth_call per 500 ids)."""
        ids = [parse_item_id(i, field=f"item_ids[{n}]") for n, i in enumerate(item_ids)]
        answer: list[bool] = []
        for start in range(0, len(ids), ARE_REGISTERED_CHUNK):
            chunk = ids[start : start + ARE_REGISTERED_CHUNK]
            answer.extend(bool(b) for b in self._read(self.passport.functions.areRegistered(chunk)))
        return answer

    def account_record(self, address: str) -> Account:
        """The vetting record of ``address`` (all zero, status NONE, if never vetted)."""
        account = parse_address(address, field="address", allow_zero=True)
        account_id, roles, status, vetted_at, updated_at, credential_hash, name = self._read(
            self.passport.functions.accountOf(account)
        )
        return Account(
            address=account,
            id=int(account_id),
            roles=Role(roles),
            status=AccountStatus(status),
            vetted_at=int(vetted_at),
            updated_at=int(updated_at),
            credential_hash=Hash32(bytes(credential_hash)),
            name=str(name),
        )

    def is_admin(self, address: str) -> bool:
        account = parse_address(address, field="address", allow_zero=True)
        return bool(self._read(self.passport.functions.isAdmin(account)))

    def current_metadata_hash(self, item_id: ItemId) -> Hash32 | None:
        """The newest metadata hash published for the item, or None if it has none."""
        result: Hash32 | None = self._chain(
            _history.current_metadata_hash,
            w3=self.w3,
            passport=self.passport,
            item_id=parse_item_id(item_id),
            from_block=self.deployment.block_number,
        )
        return result

    def history(self, item_id: ItemId) -> list[HistoryEvent]:
        """Every event about the item, oldest first (see `ledger.history`): the passport's, and
        the resale market's when the deployment has one."""
        events: list[HistoryEvent] = self._chain(
            _history.item_history,
            w3=self.w3,
            passport=self.passport,
            item_id=parse_item_id(item_id),
            from_block=self.deployment.block_number,
            block_timestamps=self._block_timestamps,
            markets=() if self.market is None else (self.market,),
        )
        return events

    def verify(self, *, item_id: ItemId, metadata: Mapping[str, Any]) -> Verification:
        """Whether ``metadata`` is the item's current metadata document."""
        item = self.item(item_id)
        registered = self.current_metadata_hash(item.item_id)
        return Verification.check(item=item, registered_hash=registered, metadata=metadata)

    # ------------------------------------------------------------------ vetting (admin)

    def _vetting_args(
        self, account: str, roles: Role, credentials: Evidence, name: str, reason: Evidence | None
    ) -> tuple[ChecksumAddress, int, Hash32, str, Hash32]:
        if not isinstance(name, str) or not name.strip():
            raise InputError("name must be non-empty text", field="name")
        try:
            mask = int(roles)
        except (TypeError, ValueError):
            raise InputError(
                f"roles must be a Role bitmask, got {roles!r}", field="roles"
            ) from None
        return (
            parse_address(account, field="account"),
            mask,
            evidence_hash(credentials, field="credentials"),
            name,
            _ZERO_HASH if reason is None else evidence_hash(reason, field="reason"),
        )

    def vet(
        self,
        *,
        account: str,
        roles: Role,
        credentials: Evidence,
        name: str,
        reason: Evidence | None = None,
    ) -> TxResult:
        """Vet ``account`` for ``roles`` (or re-vet a suspended/revoked one). Admin only."""
        args = self._vetting_args(account, roles, credentials, name, reason)
        return self._send(self.passport.functions.vet(*args))

    def amend(
        self,
        *,
        account: str,
        roles: Role,
        credentials: Evidence,
        name: str,
        reason: Evidence | None = None,
    ) -> TxResult:
        """Change an active account's roles, credentials or name. Admin only."""
        args = self._vetting_args(account, roles, credentials, name, reason)
        return self._send(self.passport.functions.amend(*args))

    def suspend(self, *, account: str, reason: Evidence) -> TxResult:
        return self._send(
            self.passport.functions.suspend(
                parse_address(account, field="account"), evidence_hash(reason, field="reason")
            )
        )

    def reinstate(self, *, account: str, reason: Evidence) -> TxResult:
        return self._send(
            self.passport.functions.reinstate(
                parse_address(account, field="account"), evidence_hash(reason, field="reason")
            )
        )

    def revoke(self, *, account: str, reason: Evidence) -> TxResult:
        return self._send(
            self.passport.functions.revoke(
                parse_address(account, field="account"), evidence_hash(reason, field="reason")
            )
        )

    # ------------------------------------------------------------------ items

    def register(
        self,
        *,
        brand: str,
        serial: str,
        metadata: Mapping[str, Any],
        owner: str | None = None,
        metadata_uri: str = "",
    ) -> Registration:
        """Give item ``brand``/``serial`` a passport owned by ``owner`` (default: the sender)."""
        new_id = _label_id(brand=brand, serial=serial)
        digest = _document_hash(metadata, field="metadata")
        to = self._owner_or_self(owner)
        tx = self._send(self.passport.functions.register(new_id, digest, _uri(metadata_uri), to))
        return Registration(item_id=new_id, metadata_hash=digest, tx=tx)

    def register_batch(
        self,
        *,
        items: Sequence[NewItem],
        owner: str | None = None,
        chunk_size: int = 100,
    ) -> BatchResult:
        """Register many items to one owner, skipping (not failing on) those already registered.

        Duplicates within ``items`` (same normalised label) keep their first occurrence; ids
        already on chain, or registered by someone else while this runs, are reported in
        ``skipped``. Other errors propagate with the partial result so far attached as
        ``error.partial`` (a `BatchResult`): earlier chunks are on chain by then.
        """
        if chunk_size < 1:
            raise InputError("chunk_size must be at least 1", field="chunk_size")
        to = self._owner_or_self(owner)
        prepared: list[tuple[ItemId, Hash32, str]] = []
        skipped: list[tuple[ItemId, str]] = []
        seen: set[bytes] = set()
        for n, entry in enumerate(items):
            new_id = _label_id(brand=entry.brand, serial=entry.serial)
            digest = _document_hash(entry.metadata, field=f"items[{n}].metadata")
            uri = _uri(entry.metadata_uri, field=f"items[{n}].metadata_uri")
            if new_id in seen:
                skipped.append((new_id, DUPLICATE_IN_INPUT))
                continue
            seen.add(new_id)
            prepared.append((new_id, digest, uri))
        existing = self.are_registered([p[0] for p in prepared])
        pending = []
        for entry_, taken in zip(prepared, existing, strict=True):
            if taken:
                skipped.append((entry_[0], ALREADY_REGISTERED))
            else:
                pending.append(entry_)
        registered: list[Registration] = []
        try:
            for start in range(0, len(pending), chunk_size):
                chunk = pending[start : start + chunk_size]
                registered.extend(self._register_chunk(to, chunk, skipped))
        except LedgerError as exc:
            # Not a declared attribute of LedgerError, hence setattr (for mypy).
            setattr(exc, "partial", BatchResult(registered=registered, skipped=skipped))  # noqa: B010
            raise
        return BatchResult(registered=registered, skipped=skipped)

    def _register_chunk(
        self,
        owner: ChecksumAddress,
        chunk: list[tuple[ItemId, Hash32, str]],
        skipped: list[tuple[ItemId, str]],
    ) -> list[Registration]:
        while chunk:
            ids = [c[0] for c in chunk]
            hashes = [c[1] for c in chunk]
            # URIs cost an event each, so the array is sent empty when no item has one.
            uris = [c[2] for c in chunk] if any(c[2] for c in chunk) else []
            try:
                tx = self._send(self.passport.functions.registerBatch(owner, ids, hashes, uris))
            except ItemAlreadyRegistered as exc:
                # Someone registered it since the pre-check: drop it and resend the rest.
                taken = bytes(exc.arguments["itemId"])
                if taken not in ids:
                    raise
                skipped.append((ItemId(taken), ALREADY_REGISTERED))
                chunk = [c for c in chunk if c[0] != taken]
                continue
            return [Registration(item_id=i, metadata_hash=h, tx=tx) for i, h, _ in chunk]
        return []

    def register_successor(
        self,
        *,
        predecessor_id: ItemId,
        brand: str,
        serial: str,
        metadata: Mapping[str, Any],
        owner: str | None = None,
        metadata_uri: str = "",
    ) -> Registration:
        """Register a new item made from a retired one, linking the two passports."""
        predecessor = parse_item_id(predecessor_id, field="predecessor_id")
        new_id = _label_id(brand=brand, serial=serial)
        digest = _document_hash(metadata, field="metadata")
        to = self._owner_or_self(owner)
        tx = self._send(
            self.passport.functions.registerSuccessor(
                predecessor, new_id, digest, _uri(metadata_uri), to
            )
        )
        return Registration(item_id=new_id, metadata_hash=digest, tx=tx)

    def update_metadata(
        self, *, item_id: ItemId, metadata: Mapping[str, Any], metadata_uri: str = ""
    ) -> TxResult:
        """Publish a new metadata document; the earlier ones stay in the history."""
        return self._send(
            self.passport.functions.updateMetadata(
                parse_item_id(item_id),
                _document_hash(metadata, field="metadata"),
                _uri(metadata_uri),
            )
        )

    def authenticate(
        self, *, item_id: ItemId, verdict: Verdict, grade: ConditionGrade, evidence: Evidence
    ) -> TxResult:
        return self._send(
            self.passport.functions.authenticate(
                parse_item_id(item_id),
                _enum(Verdict, verdict, field="verdict"),
                _enum(ConditionGrade, grade, field="grade"),
                evidence_hash(evidence, field="evidence"),
            )
        )

    def record_service(self, *, item_id: ItemId, kind: ServiceKind, evidence: Evidence) -> TxResult:
        return self._send(
            self.passport.functions.recordService(
                parse_item_id(item_id),
                _enum(ServiceKind, kind, field="kind"),
                evidence_hash(evidence, field="evidence"),
            )
        )

    def flag(self, *, item_id: ItemId, status: ItemStatus, report: Evidence) -> TxResult:
        """Report the item lost or stolen (owner or admin); it cannot move until cleared."""
        return self._send(
            self.passport.functions.flag(
                parse_item_id(item_id),
                _enum(ItemStatus, status, field="status"),
                evidence_hash(report, field="report"),
            )
        )

    def clear_flag(self, *, item_id: ItemId, clearance: Evidence) -> TxResult:
        return self._send(
            self.passport.functions.clearFlag(
                parse_item_id(item_id), evidence_hash(clearance, field="clearance")
            )
        )

    def retire(self, *, item_id: ItemId, kind: RetirementKind, evidence: Evidence) -> TxResult:
        """End the item's life (owner or admin); its passport then refuses every change."""
        return self._send(
            self.passport.functions.retire(
                parse_item_id(item_id),
                _enum(RetirementKind, kind, field="kind"),
                evidence_hash(evidence, field="evidence"),
            )
        )

    def transfer(self, *, item_id: ItemId, to: str, sale_ref: Evidence | None = None) -> TxResult:
        """Move the passport from the sender to ``to``, recording ``sale_ref`` when given."""
        item = parse_item_id(item_id)
        recipient = parse_address(to, field="to")
        sender = self._owner_or_self(None)
        if sale_ref is None:
            call = self.passport.functions.transferFrom(
                sender, recipient, int.from_bytes(item, "big")
            )
        else:
            call = self.passport.functions.transferWithReference(
                sender, recipient, item, evidence_hash(sale_ref, field="sale_ref")
            )
        return self._send(call)

    # ------------------------------------------------------------------ owner-signed messages

    def domain(self) -> Eip712Domain:
        """The passport's EIP-712 domain (from its ``eip712Domain()``, read once)."""
        if self._domain is None:
            self._domain = cast(Eip712Domain, self._chain(read_domain, self.passport))
        return self._domain

    def item_nonce(self, item_id: ItemId) -> int:
        """``nonces(tokenId)``: moves on with every transfer and every permit of the item."""
        token = int.from_bytes(parse_item_id(item_id), "big")
        return int(self._read(self.passport.functions.nonces(token)))

    def build_permit(self, *, item_id: ItemId, spender: str, deadline: int) -> PermitMessage:
        """An ERC-4494 permit for ``spender`` at the item's current nonce, for its owner to sign."""
        item = parse_item_id(item_id)
        return PermitMessage(
            spender=parse_address(spender, field="spender"),
            item_id=item,
            nonce=self.item_nonce(item),
            deadline=_timestamp(deadline, field="deadline"),
        )

    def sign_permit(self, permit: PermitMessage) -> bytes:
        """This client's account signs ``permit`` (it must own the item for the permit to work)."""
        return sign_permit(self._signer(), domain=self.domain(), permit=permit)

    def permit(self, *, permit: PermitMessage, signature: bytes | str) -> TxResult:
        """Submit an owner-signed permit; this client's account pays the gas.

        Refusals (checked by simulation, so they cost nothing): `InvalidSignature` (not the
        owner's signature for this chain, contract and nonce, or a high-s twin),
        `SignatureExpired`, `ItemIsRetired`, `ItemNotRegistered`.
        """
        token = int.from_bytes(parse_item_id(permit.item_id), "big")
        return self._send(
            self.passport.functions.permit(
                permit.spender,
                token,
                _timestamp(permit.deadline, field="deadline"),
                parse_signature(signature),
            )
        )

    def build_transfer(
        self,
        *,
        item_id: ItemId,
        to: str,
        deadline: int,
        sale_ref: Evidence | None = None,
        owner: str | None = None,
    ) -> TransferMessage:
        """A ``transferBySig`` message at the item's current nonce, for ``owner`` (default: the
        item's owner now) to sign; ``sale_ref`` is hashed like other evidence (zero if None)."""
        item = parse_item_id(item_id)
        sender = parse_address(owner, field="owner") if owner is not None else self.item(item).owner
        return TransferMessage(
            from_=sender,
            to=parse_address(to, field="to"),
            item_id=item,
            sale_ref=_ZERO_HASH if sale_ref is None else evidence_hash(sale_ref, field="sale_ref"),
            nonce=self.item_nonce(item),
            deadline=_timestamp(deadline, field="deadline"),
        )

    def sign_transfer(self, transfer: TransferMessage) -> bytes:
        """This client's account (which must be ``transfer.from_``) signs ``transfer``."""
        return sign_transfer(self._signer(), domain=self.domain(), transfer=transfer)

    def transfer_by_sig(self, *, transfer: TransferMessage, signature: bytes | str) -> TxResult:
        """Relay an owner-signed transfer: the item moves from ``transfer.from_`` to
        ``transfer.to`` and this client's account (a gateway, a buyer) pays the gas.

        Refusals (checked by simulation, so they cost nothing): `InvalidSignature` (not
        ``from``'s signature for this chain, contract and nonce, already used, or a high-s
        twin), `SignatureExpired`, `TransferFromIncorrectOwner`, `ItemIsFlagged`,
        `ItemIsLocked`, `ItemIsRetired`.
        """
        return self._send(
            self.passport.functions.transferBySig(
                parse_address(transfer.from_, field="from"),
                parse_address(transfer.to, field="to"),
                parse_item_id(transfer.item_id),
                bytes(transfer.sale_ref),
                _timestamp(transfer.deadline, field="deadline"),
                parse_signature(signature),
            )
        )


def _timestamp(value: object, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**256:
        raise InputError(f"{field} must be a unix timestamp in seconds, got {value!r}", field=field)
    return value
