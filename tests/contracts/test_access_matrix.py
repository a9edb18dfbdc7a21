"""Who may call what: every state-changing function of `ItemPassport` against every kind of caller.

`MATRIX` below is the single statement of the contract's access rules. Each cell is either ``OK``
(the call is mined and its effect, stated in `OPS`, is checked) or the exact custom error the call
must revert with; a refused call is mined as a failed transaction and must leave the views it
could have changed (the row's ``watch`` list, read through `VIEWS`) as they were.

The starting state is the ``passport`` fixture's (``conftest.py``): items ``active``, ``flagged``
(lost, reported by the owner) and ``retired`` are registered by merchant and owned by owner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract.contract import Contract, ContractFunction
from web3.types import TxReceipt

from ledger.errors import (
    AccessControlEnforcedDefaultAdminRules,
    AccessControlInvalidDefaultAdmin,
    AccessControlUnauthorizedAccount,
    AccountLacksRole,
    AccountNotActive,
    ContractError,
    NotAdmin,
    NotMarket,
    NotOwnerNorAdmin,
    NotOwnerNorApproved,
    NotOwnerNorRegistrant,
)
from ledger.hashing import hash_document
from ledger.types import (
    AccountStatus,
    ConditionGrade,
    ItemStatus,
    RetirementKind,
    Role,
    ServiceKind,
    Verdict,
)
from tests.contracts.conftest import (
    DEFAULT_ADMIN_ROLE,
    EVIDENCE_HASH,
    EXTRA_ROLE,
    METADATA_HASH,
    Items,
    passport_abi,
    vetting_args,
)
from tests.contracts.helpers import (
    account_of,
    events,
    expect_revert,
    item_of,
    send,
    view,
)

if TYPE_CHECKING:
    from tests.conftest import DevAccounts


# ------------------------------------------------------------------ outcomes


class _Slot:
    """Stands for a value known only per case: the calling account, or the row's target item."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


CALLER = _Slot("caller")
ITEM = _Slot("item")


@dataclass(frozen=True)
class Refused:
    error: type[ContractError] | str
    args: tuple[tuple[str, object], ...] = ()

    @property
    def name(self) -> str:
        return self.error if isinstance(self.error, str) else self.error.__name__


def refused(error: type[ContractError] | str, **args: object) -> Refused:
    return Refused(error, tuple(args.items()))


# Legend of the matrix cells (names of at most six letters, so that the table fits the page).
OK = None  # allowed: mined, and the row's effect is checked
# not the platform admin (OpenZeppelin's onlyRole(DEFAULT_ADMIN_ROLE))
ADMIN = refused(AccessControlUnauthorizedAccount, account=CALLER, neededRole=DEFAULT_ADMIN_ROLE)
NOTADM = refused(NotAdmin, caller=CALLER)  # not the platform admin (the passport's own check)
# not vetted as merchant or brand / as authenticator
LACKMB = refused(AccountLacksRole, account=CALLER, requiredRoles=Role.MERCHANT | Role.BRAND)
LACKAU = refused(AccountLacksRole, account=CALLER, requiredRoles=Role.AUTHENTICATOR)
# vetted for the role, but suspended / revoked
SUSPND = refused(AccountNotActive, account=CALLER, status=AccountStatus.SUSPENDED)
REVOKD = refused(AccountNotActive, account=CALLER, status=AccountStatus.REVOKED)
OWNADM = refused(NotOwnerNorAdmin, itemId=ITEM, caller=CALLER)  # neither the owner nor the admin
OWNREG = refused(NotOwnerNorRegistrant, itemId=ITEM, caller=CALLER)  # nor owner nor registrant
OWNAPR = refused(NotOwnerNorApproved)  # ERC-721: neither the owner nor approved
RULES = refused(AccessControlEnforcedDefaultAdminRules)  # admin role moves only by 2-step transfer
NOTPND = refused(AccessControlInvalidDefaultAdmin, defaultAdmin=CALLER)  # no hand-over pending
NOTMKT = refused(NotMarket, caller=CALLER)  # not the resale market (the fixture names none)

ACTORS = (
    "admin",
    "merchant",
    "suspended_merchant",
    "revoked_merchant",
    "authenticator",
    "brand",
    "owner",
    "stranger",
)

# fmt: off
MATRIX: dict[str, tuple[Refused | None, ...]] = {
    # function                   admin   merch.  susp.   revoked authent brand   owner   stranger
    "vet":                       (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "amend":                     (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "suspend":                   (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "reinstate":                 (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "revoke":                    (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "register":                  (LACKMB, OK,     SUSPND, REVOKD, LACKMB, OK,     LACKMB, LACKMB),
    "registerBatch":             (LACKMB, OK,     SUSPND, REVOKD, LACKMB, OK,     LACKMB, LACKMB),
    "registerSuccessor":         (LACKMB, OK,     SUSPND, REVOKD, LACKMB, OK,     LACKMB, LACKMB),
    "updateMetadata":            (LACKMB, OK,     SUSPND, REVOKD, LACKMB, OWNREG, LACKMB, LACKMB),
    "authenticate":              (LACKAU, LACKAU, LACKAU, LACKAU, OK,     LACKAU, LACKAU, LACKAU),
    "recordService":             (LACKMB, OK,     SUSPND, REVOKD, LACKMB, OK,     LACKMB, LACKMB),
    "flag":                      (OK,     OWNADM, OWNADM, OWNADM, OWNADM, OWNADM, OK,     OWNADM),
    "clearFlag":                 (OK,     OWNADM, OWNADM, OWNADM, OWNADM, OWNADM, OK,     OWNADM),
    "retire":                    (OK,     OWNADM, OWNADM, OWNADM, OWNADM, OWNADM, OK,     OWNADM),
    "transferFrom":              (OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OK,     OWNAPR),
    "safeTransferFrom":          (OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OK,     OWNAPR),
    "safeTransferFrom+data":     (OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OK,     OWNAPR),
    "transferWithReference":     (OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OK,     OWNAPR),
    "approve":                   (OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OWNAPR, OK,     OWNAPR),
    "setApprovalForAll":         (OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    "setBaseURI":                (OK,     NOTADM, NOTADM, NOTADM, NOTADM, NOTADM, NOTADM, NOTADM),
    "setMarket":                 (OK,     NOTADM, NOTADM, NOTADM, NOTADM, NOTADM, NOTADM, NOTADM),
    "lock":                      (NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT),
    "unlock":                    (NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT),
    "marketTransfer":            (NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT),
    "recordRuling":              (NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT),
    "beginDefaultAdminTransfer": (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "changeDefaultAdminDelay":   (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "acceptDefaultAdminTransfer":(NOTPND, NOTPND, NOTPND, NOTPND, NOTPND, NOTPND, NOTPND, NOTPND),
    "grantRole":                 (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "revokeRole":                (OK,     ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
    "grantRole(admin role)":     (RULES,  RULES,  RULES,  RULES,  RULES,  RULES,  RULES,  RULES),
    "revokeRole(admin role)":    (RULES,  RULES,  RULES,  RULES,  RULES,  RULES,  RULES,  RULES),
}
# fmt: on

# State-changing functions deliberately left out of the matrix, and why.
NOT_IN_MATRIX = {
    "renounceRole(bytes32,address)": "acts only on the caller's own roles (OZ-tested)",
    "cancelDefaultAdminTransfer()": "same onlyRole(DEFAULT_ADMIN_ROLE) guard as the rows above",
    "rollbackDefaultAdminDelay()": "same onlyRole(DEFAULT_ADMIN_ROLE) guard as the rows above",
    # Anyone may submit these: the owner's EIP-712 signature is the authority, not the caller.
    "permit(address,uint256,uint256,bytes)": "signature-based (see test_market* / permit tests)",
    "transferBySig(address,address,bytes32,bytes32,uint256,bytes)": "signature-based, as permit",
}


# ------------------------------------------------------------------ operations


@dataclass(frozen=True)
class Ctx:
    passport: Contract
    accounts: DevAccounts
    items: Items
    caller: LocalAccount

    def fn(self, signature: str) -> Any:
        return self.passport.get_function_by_signature(signature)


@dataclass(frozen=True)
class Op:
    signature: str
    args: Callable[[Ctx], tuple[Any, ...]]
    effect: Callable[[Ctx, TxReceipt], None]
    """Checks an allowed call's event and new state."""
    watch: tuple[str, ...]
    """The `VIEWS` a refused call must leave unchanged: whatever the call would have changed."""
    item: Callable[[Items], bytes] = lambda items: items.active
    """The item whose id the row's `NotOwnerNor...` errors name."""

    def call(self, ctx: Ctx) -> ContractFunction:
        fn: ContractFunction = ctx.fn(self.signature)(*self.args(ctx))
        return fn


NEW_METADATA_HASH = hash_document({"brand": "Maison Test", "model": "Weekender 45", "rev": 2})
REASON_HASH = hash_document({"decision": "matrix"})
SALE_REF = hash_document({"order": "SO-1001"})
NEW_BASE_URI = "https://passports.example/items/"
ZERO_ADDRESS = "0x" + "00" * 20


def _one(ctx: Ctx, receipt: TxReceipt, event: str) -> Any:
    (log,) = events(ctx.passport, receipt, event)
    return log["args"]


def _vetted(ctx: Ctx, receipt: TxReceipt) -> None:
    spare = ctx.accounts.spare.address
    args = _one(ctx, receipt, "AccountVetted")
    assert (args["account"], args["roles"], args["by"]) == (
        spare,
        Role.MERCHANT,
        ctx.caller.address,
    )
    assert account_of(ctx.passport, spare)["status"] == AccountStatus.ACTIVE


def _amended(ctx: Ctx, receipt: TxReceipt) -> None:
    merchant = ctx.accounts.merchant.address
    args = _one(ctx, receipt, "AccountVetted")
    assert (args["account"], args["roles"]) == (merchant, Role.MERCHANT | Role.BRAND)
    record = account_of(ctx.passport, merchant)
    assert (record["roles"], record["status"]) == (Role.MERCHANT | Role.BRAND, AccountStatus.ACTIVE)


def _status_changed(
    account: str, previous: AccountStatus, status: AccountStatus
) -> Callable[[Ctx, TxReceipt], None]:
    def check(ctx: Ctx, receipt: TxReceipt) -> None:
        address = getattr(ctx.accounts, account).address
        args = _one(ctx, receipt, "AccountStatusChanged")
        assert (args["account"], args["previous"], args["status"], args["by"]) == (
            address,
            previous,
            status,
            ctx.caller.address,
        )
        assert account_of(ctx.passport, address)["status"] == status

    return check


def _registered(*indexes: int) -> Callable[[Ctx, TxReceipt], None]:
    def check(ctx: Ctx, receipt: TxReceipt) -> None:
        certified = ctx.caller.address == ctx.accounts.brand.address
        expected_ids = [ctx.items.fresh[i] for i in indexes]
        logs = events(ctx.passport, receipt, "ItemRegistered")
        assert [log["args"]["itemId"] for log in logs] == expected_ids
        for log in logs:
            assert log["args"]["registrant"] == ctx.caller.address
            assert log["args"]["brandCertified"] is certified
        for item in expected_ids:
            record = item_of(ctx.passport, item)
            assert record["owner"] == ctx.accounts.owner.address
            assert record["registrant"] == ctx.caller.address
            assert record["brandCertified"] is certified

    return check


def _succeeded(ctx: Ctx, receipt: TxReceipt) -> None:
    _registered(3)(ctx, receipt)
    args = _one(ctx, receipt, "ItemSucceeded")
    assert (args["predecessorId"], args["successorId"], args["by"]) == (
        ctx.items.retired,
        ctx.items.fresh[3],
        ctx.caller.address,
    )


def _metadata_updated(ctx: Ctx, receipt: TxReceipt) -> None:
    args = _one(ctx, receipt, "MetadataUpdated")
    assert dict(args) == {
        "itemId": ctx.items.active,
        "by": ctx.caller.address,
        "metadataHash": NEW_METADATA_HASH,
        "metadataURI": "ipfs://metadata-v2",
    }


def _authenticated(ctx: Ctx, receipt: TxReceipt) -> None:
    args = _one(ctx, receipt, "ItemAuthenticated")
    assert dict(args) == {
        "itemId": ctx.items.active,
        "authenticator": ctx.caller.address,
        "verdict": Verdict.AUTHENTIC,
        "grade": ConditionGrade.EXCELLENT,
        "evidenceHash": EVIDENCE_HASH,
    }
    assert item_of(ctx.passport, ctx.items.active)["lastVerdict"] == Verdict.AUTHENTIC


def _serviced(ctx: Ctx, receipt: TxReceipt) -> None:
    args = _one(ctx, receipt, "ItemServiced")
    assert dict(args) == {
        "itemId": ctx.items.active,
        "by": ctx.caller.address,
        "kind": ServiceKind.REPAIR,
        "evidenceHash": EVIDENCE_HASH,
    }


def _flagged(ctx: Ctx, receipt: TxReceipt) -> None:
    args = _one(ctx, receipt, "ItemFlagged")
    assert (args["itemId"], args["by"], args["status"]) == (
        ctx.items.active,
        ctx.caller.address,
        ItemStatus.STOLEN,
    )
    record = item_of(ctx.passport, ctx.items.active)
    assert record["status"] == ItemStatus.STOLEN
    assert record["flaggedByAdmin"] is (ctx.caller.address == ctx.accounts.admin.address)


def _cleared(ctx: Ctx, receipt: TxReceipt) -> None:
    args = _one(ctx, receipt, "FlagCleared")
    assert (args["itemId"], args["by"], args["previous"]) == (
        ctx.items.flagged,
        ctx.caller.address,
        ItemStatus.LOST,
    )
    assert item_of(ctx.passport, ctx.items.flagged)["status"] == ItemStatus.ACTIVE


def _retired(ctx: Ctx, receipt: TxReceipt) -> None:
    args = _one(ctx, receipt, "ItemRetired")
    assert (args["itemId"], args["by"], args["kind"]) == (
        ctx.items.active,
        ctx.caller.address,
        RetirementKind.RECYCLED,
    )
    assert item_of(ctx.passport, ctx.items.active)["status"] == ItemStatus.RETIRED


def _transferred(ctx: Ctx, receipt: TxReceipt) -> None:
    owner, spare = ctx.accounts.owner.address, ctx.accounts.spare.address
    args = _one(ctx, receipt, "Transfer")
    assert dict(args) == {"from": owner, "to": spare, "id": int.from_bytes(ctx.items.active)}
    record = item_of(ctx.passport, ctx.items.active)
    assert (record["owner"], record["transferNonce"]) == (spare, 1)
    assert view(ctx.passport.functions.balanceOf(spare)) == 1


def _sold(ctx: Ctx, receipt: TxReceipt) -> None:
    _transferred(ctx, receipt)
    args = _one(ctx, receipt, "SaleRecorded")
    assert dict(args) == {
        "itemId": ctx.items.active,
        "from": ctx.accounts.owner.address,
        "to": ctx.accounts.spare.address,
        "saleRef": SALE_REF,
    }


def _approved(ctx: Ctx, receipt: TxReceipt) -> None:
    assert _one(ctx, receipt, "Approval")["account"] == ctx.accounts.spare.address
    approved = view(ctx.passport.functions.getApproved(int.from_bytes(ctx.items.active)))
    assert approved == ctx.accounts.spare.address


def _approved_for_all(ctx: Ctx, receipt: TxReceipt) -> None:
    fn = ctx.passport.functions.isApprovedForAll(ctx.caller.address, ctx.accounts.spare.address)
    assert _one(ctx, receipt, "ApprovalForAll")["isApproved"] is True
    assert view(fn) is True


def _base_uri_set(ctx: Ctx, receipt: TxReceipt) -> None:
    args = _one(ctx, receipt, "BaseURIChanged")
    assert (args["baseURI"], args["by"]) == (NEW_BASE_URI, ctx.caller.address)
    uri = view(ctx.passport.functions.tokenURI(int.from_bytes(ctx.items.active)))
    assert uri == NEW_BASE_URI + "0x" + ctx.items.active.hex()


def _market_set(ctx: Ctx, receipt: TxReceipt) -> None:
    args = _one(ctx, receipt, "MarketChanged")
    assert dict(args) == {
        "previousMarket": ZERO_ADDRESS,
        "market": ctx.accounts.spare.address,
        "by": ctx.caller.address,
    }
    assert view(ctx.passport.functions.market()) == ctx.accounts.spare.address


def _admin_transfer_begun(ctx: Ctx, receipt: TxReceipt) -> None:
    _one(ctx, receipt, "DefaultAdminTransferScheduled")
    pending, _ = view(ctx.passport.functions.pendingDefaultAdmin())
    assert pending == ctx.accounts.spare.address


def _delay_change_begun(ctx: Ctx, receipt: TxReceipt) -> None:
    _one(ctx, receipt, "DefaultAdminDelayChangeScheduled")
    pending, _ = view(ctx.passport.functions.pendingDefaultAdminDelay())
    assert pending == 3600


def _role_granted(ctx: Ctx, receipt: TxReceipt) -> None:
    assert _one(ctx, receipt, "RoleGranted")["account"] == ctx.accounts.spare.address
    assert view(ctx.passport.functions.hasRole(EXTRA_ROLE, ctx.accounts.spare.address)) is True


def _role_revoked(ctx: Ctx, receipt: TxReceipt) -> None:
    assert _one(ctx, receipt, "RoleRevoked")["account"] == ctx.accounts.arbiter.address
    assert view(ctx.passport.functions.hasRole(EXTRA_ROLE, ctx.accounts.arbiter.address)) is False


def _never(ctx: Ctx, receipt: TxReceipt) -> None:
    raise AssertionError("this row allows no caller")


# ------------------------------------------------------------------ what "unchanged" means


def _token(c: Ctx) -> int:
    return int.from_bytes(c.items.active)


VIEWS: dict[str, Callable[[Ctx], Any]] = {
    "itemOf(active)": lambda c: item_of(c.passport, c.items.active),
    "itemOf(flagged)": lambda c: item_of(c.passport, c.items.flagged),
    "itemOf(retired)": lambda c: item_of(c.passport, c.items.retired),
    "ownerOf(active)": lambda c: view(c.passport.functions.ownerOf(_token(c))),
    "getApproved(active)": lambda c: view(c.passport.functions.getApproved(_token(c))),
    "tokenURI(active)": lambda c: view(c.passport.functions.tokenURI(_token(c))),
    "areRegistered(fresh)": lambda c: view(c.passport.functions.areRegistered(c.items.fresh)),
    "balanceOf(owner)": lambda c: view(c.passport.functions.balanceOf(c.accounts.owner.address)),
    "balanceOf(spare)": lambda c: view(c.passport.functions.balanceOf(c.accounts.spare.address)),
    "accountOf(spare)": lambda c: account_of(c.passport, c.accounts.spare),
    "accountOf(merchant)": lambda c: account_of(c.passport, c.accounts.merchant),
    "accountOf(suspended_merchant)": lambda c: account_of(
        c.passport, c.accounts.suspended_merchant
    ),
    "market": lambda c: view(c.passport.functions.market()),
    "pendingDefaultAdmin": lambda c: view(c.passport.functions.pendingDefaultAdmin()),
    "pendingDefaultAdminDelay": lambda c: view(c.passport.functions.pendingDefaultAdminDelay()),
    "hasRole(EXTRA, spare)": lambda c: view(
        c.passport.functions.hasRole(EXTRA_ROLE, c.accounts.spare.address)
    ),
    "hasRole(EXTRA, arbiter)": lambda c: view(
        c.passport.functions.hasRole(EXTRA_ROLE, c.accounts.arbiter.address)
    ),
}
ACCOUNTS = ("accountOf(spare)", "accountOf(merchant)", "accountOf(suspended_merchant)")
REGISTRATIONS = ("areRegistered(fresh)", "balanceOf(owner)", "itemOf(retired)")
ITEM_STATE = ("itemOf(active)",)
OWNERSHIP = (
    "itemOf(active)",
    "ownerOf(active)",
    "getApproved(active)",
    "balanceOf(owner)",
    "balanceOf(spare)",
)
ADMIN_STATE = (
    "tokenURI(active)",
    "market",
    "pendingDefaultAdmin",
    "pendingDefaultAdminDelay",
    "hasRole(EXTRA, spare)",
    "hasRole(EXTRA, arbiter)",
)


def observe(ctx: Ctx, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: VIEWS[name](ctx) for name in names}


def _transfer_args(ctx: Ctx) -> tuple[Any, ...]:
    return (
        ctx.accounts.owner.address,
        ctx.accounts.spare.address,
        int.from_bytes(ctx.items.active),
    )


OPS: dict[str, Op] = {
    "vet": Op(
        "vet(address,uint8,bytes32,string,bytes32)",
        lambda c: (c.accounts.spare.address, *vetting_args("Newcomer Resale", Role.MERCHANT)),
        _vetted,
        ACCOUNTS,
    ),
    "amend": Op(
        "amend(address,uint8,bytes32,string,bytes32)",
        lambda c: (
            c.accounts.merchant.address,
            *vetting_args("Second Life Luxury", Role.MERCHANT | Role.BRAND),
        ),
        _amended,
        ACCOUNTS,
    ),
    "suspend": Op(
        "suspend(address,bytes32)",
        lambda c: (c.accounts.merchant.address, REASON_HASH),
        _status_changed("merchant", AccountStatus.ACTIVE, AccountStatus.SUSPENDED),
        ACCOUNTS,
    ),
    "reinstate": Op(
        "reinstate(address,bytes32)",
        lambda c: (c.accounts.suspended_merchant.address, REASON_HASH),
        _status_changed("suspended_merchant", AccountStatus.SUSPENDED, AccountStatus.ACTIVE),
        ACCOUNTS,
    ),
    "revoke": Op(
        "revoke(address,bytes32)",
        lambda c: (c.accounts.merchant.address, REASON_HASH),
        _status_changed("merchant", AccountStatus.ACTIVE, AccountStatus.REVOKED),
        ACCOUNTS,
    ),
    "register": Op(
        "register(bytes32,bytes32,string,address)",
        lambda c: (c.items.fresh[0], METADATA_HASH, "", c.accounts.owner.address),
        _registered(0),
        REGISTRATIONS,
    ),
    "registerBatch": Op(
        "registerBatch(address,bytes32[],bytes32[],string[])",
        lambda c: (
            c.accounts.owner.address,
            [c.items.fresh[1], c.items.fresh[2]],
            [METADATA_HASH, METADATA_HASH],
            [],
        ),
        _registered(1, 2),
        REGISTRATIONS,
    ),
    "registerSuccessor": Op(
        "registerSuccessor(bytes32,bytes32,bytes32,string,address)",
        lambda c: (c.items.retired, c.items.fresh[3], METADATA_HASH, "", c.accounts.owner.address),
        _succeeded,
        REGISTRATIONS,
    ),
    "updateMetadata": Op(
        "updateMetadata(bytes32,bytes32,string)",
        lambda c: (c.items.active, NEW_METADATA_HASH, "ipfs://metadata-v2"),
        _metadata_updated,
        ITEM_STATE,  # metadata lives in events only: a refusal is a receipt without logs
    ),
    "authenticate": Op(
        "authenticate(bytes32,uint8,uint8,bytes32)",
        lambda c: (c.items.active, Verdict.AUTHENTIC, ConditionGrade.EXCELLENT, EVIDENCE_HASH),
        _authenticated,
        ITEM_STATE,
    ),
    "recordService": Op(
        "recordService(bytes32,uint8,bytes32)",
        lambda c: (c.items.active, ServiceKind.REPAIR, EVIDENCE_HASH),
        _serviced,
        ITEM_STATE,
    ),
    "flag": Op(
        "flag(bytes32,uint8,bytes32)",
        lambda c: (c.items.active, ItemStatus.STOLEN, EVIDENCE_HASH),
        _flagged,
        ITEM_STATE,
    ),
    "clearFlag": Op(
        "clearFlag(bytes32,bytes32)",
        lambda c: (c.items.flagged, EVIDENCE_HASH),
        _cleared,
        ("itemOf(flagged)",),
        item=lambda items: items.flagged,
    ),
    "retire": Op(
        "retire(bytes32,uint8,bytes32)",
        lambda c: (c.items.active, RetirementKind.RECYCLED, EVIDENCE_HASH),
        _retired,
        ITEM_STATE,
    ),
    "transferFrom": Op(
        "transferFrom(address,address,uint256)", _transfer_args, _transferred, OWNERSHIP
    ),
    "safeTransferFrom": Op(
        "safeTransferFrom(address,address,uint256)", _transfer_args, _transferred, OWNERSHIP
    ),
    "safeTransferFrom+data": Op(
        "safeTransferFrom(address,address,uint256,bytes)",
        lambda c: (*_transfer_args(c), b"order SO-1001"),
        _transferred,
        OWNERSHIP,
    ),
    "transferWithReference": Op(
        "transferWithReference(address,address,bytes32,bytes32)",
        lambda c: (c.accounts.owner.address, c.accounts.spare.address, c.items.active, SALE_REF),
        _sold,
        OWNERSHIP,
    ),
    "approve": Op(
        "approve(address,uint256)",
        lambda c: (c.accounts.spare.address, _token(c)),
        _approved,
        OWNERSHIP,
    ),
    "setApprovalForAll": Op(
        "setApprovalForAll(address,bool)",
        lambda c: (c.accounts.spare.address, True),
        _approved_for_all,
        (),  # allowed to everyone: it only ever concerns the caller's own items
    ),
    "setBaseURI": Op("setBaseURI(string)", lambda c: (NEW_BASE_URI,), _base_uri_set, ADMIN_STATE),
    "setMarket": Op(
        "setMarket(address)", lambda c: (c.accounts.spare.address,), _market_set, ADMIN_STATE
    ),
    "lock": Op("lock(bytes32)", lambda c: (c.items.active,), _never, ITEM_STATE),
    "unlock": Op("unlock(bytes32)", lambda c: (c.items.active,), _never, ITEM_STATE),
    "marketTransfer": Op(
        "marketTransfer(address,address,bytes32,bytes32)",
        lambda c: (c.accounts.owner.address, c.accounts.spare.address, c.items.active, SALE_REF),
        _never,
        OWNERSHIP,
    ),
    "recordRuling": Op(
        "recordRuling(bytes32,uint8,bytes32)",
        lambda c: (c.items.active, Verdict.COUNTERFEIT, EVIDENCE_HASH),
        _never,
        ITEM_STATE,
    ),
    "beginDefaultAdminTransfer": Op(
        "beginDefaultAdminTransfer(address)",
        lambda c: (c.accounts.spare.address,),
        _admin_transfer_begun,
        ADMIN_STATE,
    ),
    "changeDefaultAdminDelay": Op(
        "changeDefaultAdminDelay(uint48)", lambda c: (3600,), _delay_change_begun, ADMIN_STATE
    ),
    "acceptDefaultAdminTransfer": Op(
        "acceptDefaultAdminTransfer()", lambda c: (), _never, ADMIN_STATE
    ),
    "grantRole": Op(
        "grantRole(bytes32,address)",
        lambda c: (EXTRA_ROLE, c.accounts.spare.address),
        _role_granted,
        ADMIN_STATE,
    ),
    "revokeRole": Op(
        "revokeRole(bytes32,address)",
        lambda c: (EXTRA_ROLE, c.accounts.arbiter.address),
        _role_revoked,
        ADMIN_STATE,
    ),
    "grantRole(admin role)": Op(
        "grantRole(bytes32,address)",
        lambda c: (DEFAULT_ADMIN_ROLE, c.accounts.spare.address),
        _never,
        ADMIN_STATE,
    ),
    "revokeRole(admin role)": Op(
        "revokeRole(bytes32,address)",
        lambda c: (DEFAULT_ADMIN_ROLE, c.accounts.admin.address),
        _never,
        ADMIN_STATE,
    ),
}


# ------------------------------------------------------------------ the tests


def _cases() -> list[Any]:
    cases = []
    for op, outcomes in MATRIX.items():
        for actor, outcome in zip(ACTORS, outcomes, strict=True):
            label = "allowed" if outcome is OK else outcome.name
            cases.append(pytest.param(op, actor, outcome, id=f"{op}-by-{actor}-{label}"))
    return cases


@pytest.mark.parametrize(("op_name", "actor", "outcome"), _cases())
def test_each_function_admits_exactly_the_callers_the_matrix_allows(
    passport: Contract,
    accounts: DevAccounts,
    items: Items,
    module_cache: dict[str, Any],
    op_name: str,
    actor: str,
    outcome: Refused | None,
) -> None:
    op = OPS[op_name]
    caller: LocalAccount = getattr(accounts, actor)
    ctx = Ctx(passport=passport, accounts=accounts, items=items, caller=caller)
    if outcome is OK:
        op.effect(ctx, send(op.call(ctx), caller))
        return

    # Every test starts from the same snapshot, so a view's starting value is read only once.
    baseline: dict[str, Any] = module_cache.setdefault("baseline", {})
    baseline.update(observe(ctx, tuple(name for name in op.watch if name not in baseline)))
    slots: dict[object, object] = {CALLER: caller.address, ITEM: op.item(items)}
    expected = {name: slots.get(value, value) for name, value in outcome.args}
    expect_revert(lambda: send(op.call(ctx), caller), outcome.error, **expected)
    assert observe(ctx, op.watch) == {name: baseline[name] for name in op.watch}


def test_the_matrix_covers_every_state_changing_function() -> None:
    abi_functions = {
        f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
        for entry in passport_abi()
        if entry["type"] == "function" and entry["stateMutability"] in ("nonpayable", "payable")
    }
    covered = {op.signature for op in OPS.values()} | set(NOT_IN_MATRIX)
    assert abi_functions - covered == set(), "add a MATRIX row for each new function"
    assert covered - abi_functions == set(), "the matrix names functions the ABI lacks"
    assert MATRIX.keys() == OPS.keys()
    assert {name for op in OPS.values() for name in op.watch} <= VIEWS.keys()
