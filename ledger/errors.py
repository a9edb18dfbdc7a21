"""Every failure the library reports, as one exception tree.

Contract custom errors are decoded from revert data into the subclass of the same name, with the
error's arguments as attributes and a sentence for a message; callers never see raw revert bytes.
The four middle classes are what the gateway maps to HTTP status codes.

    LedgerError
    ├── ConfigurationError            settings, missing deployment, missing toolchain
    ├── ChainUnavailableError         the node does not answer
    ├── InputError                    bad input caught before anything is sent (names the field)
    ├── TransactionError              not mined, dropped, or reverted without a known error
    ├── RateLimited                   a limit of this library's (e.g. gas it sponsors) is used up
    └── ContractError                 a decoded contract custom error (.error_name, .arguments)
        ├── AccessDenied
        │   ├── AccessControlBadConfirmation
        │   ├── AccessControlUnauthorizedAccount
        │   ├── AccountLacksRole
        │   ├── AccountNotActive
        │   ├── ArbiterIsParty
        │   ├── ERC721InsufficientApproval
        │   ├── FlagHeldByAdmin
        │   ├── InvalidOrderSignature
        │   ├── InvalidSignature
        │   ├── NotAdmin
        │   ├── NotBuyer
        │   ├── NotItemOwner
        │   ├── NotListingSeller
        │   ├── NotMarket
        │   ├── NotOrderSeller
        │   ├── NotOwnerNorAdmin
        │   ├── NotOwnerNorRegistrant
        │   ├── NotOwnerNorApproved
        │   ├── NotParty
        │   └── NotSeller
        ├── NotFound
        │   ├── AccountNotVetted
        │   ├── ERC721NonexistentToken
        │   ├── ItemNotRegistered
        │   ├── ListingNotFound
        │   ├── SaleNotFound
        │   └── TokenDoesNotExist
        ├── Conflict
        │   ├── AccessControlEnforcedDefaultAdminDelay
        │   ├── AccountAlreadyActive
        │   ├── AccountBalanceOverflow
        │   ├── CannotList
        │   ├── DeadlineNotReached
        │   ├── DeadlinePassed
        │   ├── ERC721IncorrectOwner
        │   ├── InsufficientFunds     the node's refusal: the sender cannot pay gas and value
        │   ├── InvalidAccountNonce
        │   ├── InvalidStatusTransition
        │   ├── ItemAlreadyRegistered
        │   ├── ItemIsFlagged
        │   ├── ItemIsLocked
        │   ├── ItemIsRetired
        │   ├── ItemNotFlagged
        │   ├── ItemNotLocked
        │   ├── ListingNotOpen
        │   ├── ListingVoid
        │   ├── NothingToWithdraw
        │   ├── OrderNotOpen
        │   ├── OrderVoid
        │   ├── PredecessorNotRetired
        │   ├── ReentrancyGuardReentrantCall
        │   ├── TokenAlreadyExists
        │   ├── TransferFromIncorrectOwner
        │   ├── WithdrawalFailed
        │   └── WrongSaleState
        └── InvalidArgument
            ├── AccessControlEnforcedDefaultAdminRules
            ├── AccessControlInvalidDefaultAdmin
            ├── BalanceQueryForZeroAddress
            ├── BatchLengthMismatch
            ├── BuyerIsSeller
            ├── ERC721InvalidApprover
            ├── ERC721InvalidOperator
            ├── ERC721InvalidOwner
            ├── ERC721InvalidReceiver
            ├── ERC721InvalidSender
            ├── EmptyBatch
            ├── EmptyName
            ├── FeeTooHigh
            ├── InvalidAccount
            ├── InvalidExpiry
            ├── InvalidFlag
            ├── InvalidItemId
            ├── InvalidPrice
            ├── InvalidRoles
            ├── InvalidRuling
            ├── InvalidShortString
            ├── InvalidTreasury
            ├── InvalidWindow
            ├── MissingCredentialHash
            ├── MissingDisputeReason
            ├── MissingEvidence
            ├── MissingHash
            ├── MissingVerdict
            ├── SafeCastOverflowedUintDowncast
            ├── SignatureExpired
            ├── StringTooLong
            ├── TransferToNonERC721ReceiverImplementer
            ├── TransferToZeroAddress
            └── WrongPayment

A custom error that has no class here (say, from a newer contract) still decodes, as a plain
``ContractError`` carrying its name and arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

__all__ = [
    "AccessControlBadConfirmation",
    "AccessControlEnforcedDefaultAdminDelay",
    "AccessControlEnforcedDefaultAdminRules",
    "AccessControlInvalidDefaultAdmin",
    "AccessControlUnauthorizedAccount",
    "AccessDenied",
    "AccountAlreadyActive",
    "AccountBalanceOverflow",
    "AccountLacksRole",
    "AccountNotActive",
    "AccountNotVetted",
    "ArbiterIsParty",
    "BalanceQueryForZeroAddress",
    "BatchLengthMismatch",
    "BuyerIsSeller",
    "CannotList",
    "ChainUnavailableError",
    "ConfigurationError",
    "Conflict",
    "ContractError",
    "DeadlineNotReached",
    "DeadlinePassed",
    "ERC721IncorrectOwner",
    "ERC721InsufficientApproval",
    "ERC721InvalidApprover",
    "ERC721InvalidOperator",
    "ERC721InvalidOwner",
    "ERC721InvalidReceiver",
    "ERC721InvalidSender",
    "ERC721NonexistentToken",
    "EmptyBatch",
    "EmptyName",
    "ErrorDecoder",
    "FeeTooHigh",
    "FlagHeldByAdmin",
    "InputError",
    "InsufficientFunds",
    "InvalidAccount",
    "InvalidAccountNonce",
    "InvalidArgument",
    "InvalidExpiry",
    "InvalidFlag",
    "InvalidItemId",
    "InvalidOrderSignature",
    "InvalidPrice",
    "InvalidRoles",
    "InvalidRuling",
    "InvalidShortString",
    "InvalidSignature",
    "InvalidStatusTransition",
    "InvalidTreasury",
    "InvalidWindow",
    "ItemAlreadyRegistered",
    "ItemIsFlagged",
    "ItemIsLocked",
    "ItemIsRetired",
    "ItemNotFlagged",
    "ItemNotLocked",
    "ItemNotRegistered",
    "LedgerError",
    "ListingNotFound",
    "ListingNotOpen",
    "ListingVoid",
    "MissingCredentialHash",
    "MissingDisputeReason",
    "MissingEvidence",
    "MissingHash",
    "MissingVerdict",
    "NotAdmin",
    "NotBuyer",
    "NotFound",
    "NotItemOwner",
    "NotListingSeller",
    "NotMarket",
    "NotOrderSeller",
    "NotOwnerNorAdmin",
    "NotOwnerNorApproved",
    "NotOwnerNorRegistrant",
    "NotParty",
    "NotSeller",
    "NothingToWithdraw",
    "OrderNotOpen",
    "OrderVoid",
    "PredecessorNotRetired",
    "RateLimited",
    "ReentrancyGuardReentrantCall",
    "SafeCastOverflowedUintDowncast",
    "SaleNotFound",
    "SignatureExpired",
    "StringTooLong",
    "TokenAlreadyExists",
    "TokenDoesNotExist",
    "TransactionError",
    "TransferFromIncorrectOwner",
    "TransferToNonERC721ReceiverImplementer",
    "TransferToZeroAddress",
    "WithdrawalFailed",
    "WrongPayment",
    "WrongSaleState",
    "contract_error_class",
]


class LedgerError(Exception):
    """Root of every error raised by `ledger`."""

    code: ClassVar[str] = "ledger_error"


class ConfigurationError(LedgerError):
    code = "configuration_error"


class ChainUnavailableError(LedgerError):
    code = "chain_unavailable"


class InputError(LedgerError, ValueError):
    """Bad input caught client-side; ``field`` names the offending input."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TransactionError(LedgerError):
    code = "transaction_failed"

    def __init__(self, message: str, *, tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class RateLimited(LedgerError):
    """A limit the library enforces is used up for now; ``retry_after`` says in how many seconds
    it frees up again."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ContractError(LedgerError):
    """A contract reverted with a custom error; subclasses are named after the Solidity error."""

    code = "contract_error"
    template: ClassVar[str] = "the contract refused the call"

    def __init__(self, error_name: str, arguments: Mapping[str, Any]) -> None:
        self.error_name = error_name
        self.arguments = dict(arguments)
        try:
            message = self.template.format(**{k: _display(v) for k, v in self.arguments.items()})
        except (KeyError, IndexError):
            message = self.template
        if type(self) is ContractError:
            rendered = ", ".join(f"{k}={_display(v)}" for k, v in self.arguments.items())
            message = f"{error_name}({rendered})"
        super().__init__(message)

    def __getattr__(self, name: str) -> Any:
        arguments = self.__dict__.get("arguments", {})
        if name in arguments:
            return arguments[name]
        raise AttributeError(name)


class AccessDenied(ContractError):
    code = "forbidden"


class NotFound(ContractError):
    code = "not_found"


class Conflict(ContractError):
    code = "conflict"


class InvalidArgument(ContractError):
    code = "invalid_argument"


_ROLE_NAMES = ("merchant", "authenticator", "arbiter", "brand")
_ACCOUNT_STATUS = ("none", "active", "suspended", "revoked")
_ITEM_STATUS = ("active", "lost", "stolen", "retired")


def _display(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


_CLASSES: dict[str, type[ContractError]] = {}


def _register(cls: type[ContractError]) -> type[ContractError]:
    _CLASSES[cls.__name__] = cls
    cls.code = "".join("_" + c.lower() if c.isupper() else c for c in cls.__name__).lstrip("_")
    return cls


# Templates use the Solidity argument names; enum and role arguments are rendered as words first.
@_register
class AccessControlUnauthorizedAccount(AccessDenied):
    template = "account {account} lacks role {neededRole}"


@_register
class AccountLacksRole(AccessDenied):
    template = "account {account} is not vetted for this action (needs {requiredRoles})"


@_register
class AccountNotActive(AccessDenied):
    template = "account {account} is {status}, not active"


@_register
class FlagHeldByAdmin(AccessDenied):
    template = "item {itemId} was flagged by the admin; only the admin can clear it"


@_register
class NotAdmin(AccessDenied):
    template = "{caller} is not the platform admin"


@_register
class NotItemOwner(AccessDenied):
    template = "{caller} does not own item {itemId}"


@_register
class NotOwnerNorAdmin(AccessDenied):
    template = "{caller} is neither the owner of item {itemId} nor the admin"


@_register
class NotOwnerNorRegistrant(AccessDenied):
    template = "{caller} is neither the owner nor the registrant of item {itemId}"


@_register
class NotOwnerNorApproved(AccessDenied):
    template = "the caller neither owns nor is approved for this item"


@_register
class AccountNotVetted(NotFound):
    template = "account {account} has never been vetted"


@_register
class ItemNotRegistered(NotFound):
    template = "item {itemId} is not registered"


@_register
class TokenDoesNotExist(NotFound):
    template = "no such item"


@_register
class AccountAlreadyActive(Conflict):
    template = "account {account} is already vetted and active"


@_register
class InvalidStatusTransition(Conflict):
    template = "account {account} cannot go from {from} to {to}"


@_register
class ItemAlreadyRegistered(Conflict):
    template = "item {itemId} is already registered"


@_register
class ItemIsFlagged(Conflict):
    template = "item {itemId} is reported {status}"


@_register
class ItemIsLocked(Conflict):
    template = "item {itemId} is held by the resale market"


@_register
class ItemIsRetired(Conflict):
    template = "item {itemId} is retired"


@_register
class ItemNotFlagged(Conflict):
    template = "item {itemId} is not flagged"


@_register
class PredecessorNotRetired(Conflict):
    template = "predecessor {predecessorId} is not retired"


@_register
class TransferFromIncorrectOwner(Conflict):
    template = "the sender does not own this item"


@_register
class BatchLengthMismatch(InvalidArgument):
    template = "batch arrays differ in length: {itemIds} ids, {metadataHashes} hashes, {uris} uris"


@_register
class EmptyBatch(InvalidArgument):
    template = "the batch is empty"


@_register
class EmptyName(InvalidArgument):
    template = "a display name is required for {account}"


@_register
class InvalidAccount(InvalidArgument):
    template = "{account} is not a valid account"


@_register
class InvalidFlag(InvalidArgument):
    template = "a flag must be lost or stolen, not {status}"


@_register
class InvalidItemId(InvalidArgument):
    template = "the item id must not be zero"


@_register
class InvalidRoles(InvalidArgument):
    template = "{roles} is not a valid set of roles"


@_register
class MissingCredentialHash(InvalidArgument):
    template = "a credential hash is required for {account}"


@_register
class MissingHash(InvalidArgument):
    template = "a metadata, report or evidence hash is required for item {itemId}"


@_register
class MissingVerdict(InvalidArgument):
    template = "an authentication of item {itemId} must state a verdict"


@_register
class TransferToNonERC721ReceiverImplementer(InvalidArgument):
    template = "the recipient contract cannot receive items"


@_register
class TransferToZeroAddress(InvalidArgument):
    template = "items cannot be sent to the zero address"


# Resale market escrow and signed transfers (ERC-4494 permit, transferBySig).
@_register
class NotMarket(AccessDenied):
    template = "{caller} is not the resale market"


@_register
class InvalidSignature(AccessDenied):
    template = "the signature is not {signer}'s for item {itemId}"


@_register
class ItemNotLocked(Conflict):
    template = "item {itemId} is not held by the resale market"


@_register
class SignatureExpired(InvalidArgument):
    template = "the signature expired at timestamp {deadline}"


@_register
class InvalidShortString(InvalidArgument):
    template = "the EIP-712 domain string is invalid"


@_register
class StringTooLong(InvalidArgument):
    template = "the EIP-712 domain string is too long"


# OpenZeppelin AccessControlDefaultAdminRules, Solady ERC721 and OpenZeppelin ERC721 (the gas
# reference) errors: rarely met through the client, but every ABI error decodes to a class.
@_register
class AccessControlBadConfirmation(AccessDenied):
    template = "an account can only renounce a role for itself"


@_register
class AccessControlEnforcedDefaultAdminDelay(Conflict):
    template = "the admin hand-over cannot complete before timestamp {schedule}"


@_register
class AccessControlEnforcedDefaultAdminRules(InvalidArgument):
    template = "the admin role changes hands only through the two-step admin transfer"


@_register
class AccessControlInvalidDefaultAdmin(InvalidArgument):
    template = "{defaultAdmin} cannot become the platform admin"


@_register
class AccountBalanceOverflow(Conflict):
    template = "the recipient holds too many items"


@_register
class BalanceQueryForZeroAddress(InvalidArgument):
    template = "the zero address holds no items"


@_register
class ERC721IncorrectOwner(Conflict):
    template = "{sender} does not own token {tokenId} (owner: {owner})"


@_register
class ERC721InsufficientApproval(AccessDenied):
    template = "{operator} is not approved for token {tokenId}"


@_register
class ERC721InvalidApprover(InvalidArgument):
    template = "{approver} cannot approve"


@_register
class ERC721InvalidOperator(InvalidArgument):
    template = "{operator} cannot be an operator"


@_register
class ERC721InvalidOwner(InvalidArgument):
    template = "{owner} cannot own tokens"


@_register
class ERC721InvalidReceiver(InvalidArgument):
    template = "{receiver} cannot receive tokens"


@_register
class ERC721InvalidSender(InvalidArgument):
    template = "{sender} cannot send tokens"


@_register
class ERC721NonexistentToken(NotFound):
    template = "token {tokenId} does not exist"


@_register
class SafeCastOverflowedUintDowncast(InvalidArgument):
    template = "value {value} does not fit in {bits} bits"


@_register
class TokenAlreadyExists(Conflict):
    template = "the item already has a passport"


# Resale market (ResaleMarket): listings, escrowed sales, disputes, pull payments; plus the
# OpenZeppelin Nonces and ReentrancyGuardTransient errors in its ABI.
@_register
class ArbiterIsParty(AccessDenied):
    template = "arbiter {arbiter} is a party to sale {saleId} and cannot rule on it"


@_register
class InvalidOrderSignature(AccessDenied):
    template = "the signature is not {seller}'s for order {orderHash} on this chain and market"


@_register
class NotBuyer(AccessDenied):
    template = "{caller} is not the buyer in sale {saleId}"


@_register
class NotListingSeller(AccessDenied):
    template = "{caller} is not the seller of listing {listingId}"


@_register
class NotOrderSeller(AccessDenied):
    template = "{caller} is not the seller of order {orderHash}"


@_register
class NotParty(AccessDenied):
    template = "{caller} is neither the buyer nor the seller in sale {saleId}"


@_register
class NotSeller(AccessDenied):
    template = "{caller} is not the seller in sale {saleId}"


@_register
class ListingNotFound(NotFound):
    template = "there is no listing {listingId}"


@_register
class SaleNotFound(NotFound):
    template = "there is no sale {saleId}"


@_register
class CannotList(Conflict):
    template = "item {itemId} cannot be listed now (reason {reason})"


@_register
class DeadlineNotReached(Conflict):
    template = "sale {saleId}: not possible before its deadline, timestamp {deadline}"


@_register
class DeadlinePassed(Conflict):
    template = "sale {saleId}: its deadline, timestamp {deadline}, has passed"


@_register
class InvalidAccountNonce(Conflict):
    template = "nonce {currentNonce} of {account} does not match"


@_register
class ListingNotOpen(Conflict):
    template = "listing {listingId} is already filled or cancelled (status {status})"


@_register
class ListingVoid(Conflict):
    template = "listing {listingId} cannot be bought (reason {reason})"


class InsufficientFunds(Conflict):
    """The sending account cannot pay for the transaction (gas, plus any value): the node refuses
    it before it runs. Not a contract error, but a state conflict like one: fund the account and
    retry. ``sender``, ``balance`` and ``cost`` are None when the node's answer did not say."""

    code = "insufficient_funds"

    def __init__(
        self,
        *,
        sender: str | None = None,
        balance: int | None = None,
        cost: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__("InsufficientFunds", {"sender": sender, "balance": balance, "cost": cost})
        if sender is not None and balance is not None and cost is not None:
            message = f"{sender} holds {balance} wei but the transaction may cost {cost} wei"
        else:
            message = "the sending account cannot pay for this transaction's gas and value"
            if detail:
                message = f"{message} ({detail})"
        self.args = (message,)


@_register
class NothingToWithdraw(Conflict):
    template = "{account} has nothing to withdraw"


@_register
class OrderNotOpen(Conflict):
    template = "order {orderHash} is already filled or cancelled (status {status})"


@_register
class OrderVoid(Conflict):
    template = "order {orderHash} cannot be bought (reason {reason})"


@_register
class ReentrancyGuardReentrantCall(Conflict):
    template = "the market refused a reentrant call"


@_register
class WithdrawalFailed(Conflict):
    template = "{account} rejected its withdrawal of {amount} wei; the credit is kept"


@_register
class WrongSaleState(Conflict):
    template = "sale {saleId} is in the wrong state for this (state {state})"


@_register
class BuyerIsSeller(InvalidArgument):
    template = "{buyer} cannot buy its own item"


@_register
class FeeTooHigh(InvalidArgument):
    template = "a fee of {feeBps} bps exceeds the cap of {maxFeeBps} bps"


@_register
class InvalidExpiry(InvalidArgument):
    template = "expiry {expiry} is not a future timestamp"


@_register
class InvalidPrice(InvalidArgument):
    template = "{price} wei is not a valid price"


@_register
class InvalidRuling(InvalidArgument):
    template = (
        "ruling {ruling} with a buyer share of {buyerShareBps} bps "
        "(counterfeit: {counterfeit}) is inconsistent"
    )


@_register
class InvalidTreasury(InvalidArgument):
    template = "{treasury} cannot be the treasury"


@_register
class InvalidWindow(InvalidArgument):
    template = "a window of {window} seconds is out of range"


@_register
class MissingDisputeReason(InvalidArgument):
    template = "a dispute about sale {saleId} must state a reason"


@_register
class MissingEvidence(InvalidArgument):
    template = "a shipment, evidence or ruling hash is required for sale {saleId}"


@_register
class WrongPayment(InvalidArgument):
    template = "the price is {expected} wei, {sent} wei was sent"


def contract_error_class(name: str) -> type[ContractError]:
    """The exception class for the Solidity error ``name`` (plain `ContractError` if unknown)."""
    return _CLASSES.get(name, ContractError)


def _render_enums(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    rendered = dict(arguments)
    if name == "AccountNotActive":
        rendered["status"] = _ACCOUNT_STATUS[arguments["status"]]
    elif name == "InvalidStatusTransition":
        rendered["from"] = _ACCOUNT_STATUS[arguments["from"]]
        rendered["to"] = _ACCOUNT_STATUS[arguments["to"]]
    elif name in ("ItemIsFlagged", "InvalidFlag"):
        rendered["status"] = _ITEM_STATUS[arguments["status"]]
    elif name in ("AccountLacksRole", "InvalidRoles"):
        key = "requiredRoles" if name == "AccountLacksRole" else "roles"
        mask = arguments[key]
        rendered[key] = " or ".join(r for i, r in enumerate(_ROLE_NAMES) if mask >> i & 1) or str(
            mask
        )
    return rendered


def _abi_type(component: Mapping[str, Any]) -> str:
    kind = str(component["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in component["components"])
        return f"({inner}){kind[5:]}"
    return kind


class ErrorDecoder:
    """Maps revert data to `ContractError` subclasses using the errors declared in contract ABIs."""

    def __init__(self, abis: Iterable[Iterable[Mapping[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for entry in abi:
                if entry.get("type") != "error":
                    continue
                types = [_abi_type(i) for i in entry.get("inputs", [])]
                names = [
                    str(i.get("name") or f"arg{n}") for n, i in enumerate(entry.get("inputs", []))
                ]
                selector = function_signature_to_4byte_selector(
                    f"{entry['name']}({','.join(types)})"
                )
                self._errors[selector] = (str(entry["name"]), types, names)

    def decode(self, data: bytes | str | None) -> LedgerError:
        """The exception for ``data``: a decoded `ContractError`, else a `TransactionError`."""
        raw = _to_bytes(data)
        if len(raw) < 4:
            return TransactionError("the transaction reverted without a reason")
        known = self._errors.get(raw[:4])
        if known is None:
            if raw[:4] == bytes.fromhex("4e487b71"):
                code = int.from_bytes(raw[4:36], "big") if len(raw) >= 36 else -1
                return TransactionError(f"the contract panicked (code 0x{code:02x})")
            return TransactionError(
                f"the transaction reverted with unknown error 0x{raw[:4].hex()}"
            )
        name, types, names = known
        try:
            values = abi_decode(types, raw[4:])
        except Exception:  # malformed revert data is reported, never raised as a decoding crash
            return TransactionError(f"the transaction reverted with malformed {name} data")
        arguments = {
            n: to_checksum_address(v) if t == "address" else v
            for n, t, v in zip(names, types, values, strict=True)
        }
        cls = contract_error_class(name)
        error = cls(name, _render_enums(name, arguments))
        error.arguments = (
            arguments  # keep raw values for programmatic use; only the message is rendered
        )
        return error


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    text = data[2:] if data.startswith(("0x", "0X")) else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
