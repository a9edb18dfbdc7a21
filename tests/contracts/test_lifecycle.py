"""An item's life on `ItemPassport`: registration, records, flags, retirement, succession, sales.

Raw-ABI tests on the ``passport`` fixture (``conftest.py``): items ``active``, ``flagged`` (lost,
reported by its owner) and ``retired`` were registered by merchant, ``certified`` by brand; all are
owned by owner. Who may call what is `test_access_matrix`'s subject; this module is about what
the calls do, in which states they are refused, and what they leave behind in events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract.contract import Contract, ContractFunction

from ledger.errors import (
    AccountAlreadyActive,
    AccountNotActive,
    AccountNotVetted,
    BatchLengthMismatch,
    ContractError,
    EmptyBatch,
    EmptyName,
    FlagHeldByAdmin,
    InvalidAccount,
    InvalidFlag,
    InvalidItemId,
    InvalidRoles,
    InvalidStatusTransition,
    ItemAlreadyRegistered,
    ItemIsFlagged,
    ItemIsRetired,
    ItemNotFlagged,
    ItemNotRegistered,
    MissingCredentialHash,
    MissingHash,
    MissingVerdict,
    NotOwnerNorApproved,
    NotOwnerNorRegistrant,
    PredecessorNotRetired,
    TransferFromIncorrectOwner,
    TransferToZeroAddress,
)
from ledger.hashing import hash_document, item_id
from ledger.types import (
    AccountStatus,
    ConditionGrade,
    ItemStatus,
    RetirementKind,
    Role,
    ServiceKind,
    Verdict,
)
from tests.contracts.conftest import BASE_URI, EVIDENCE_HASH, METADATA_HASH, Items, vetting_args
from tests.contracts.helpers import account_of, events, expect_revert, item_of, send, view

if TYPE_CHECKING:
    from tests.conftest import DevAccounts

ZERO_HASH = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
REPORT_HASH = hash_document({"police_report": "2024-PR-0042"})
CLEARANCE_HASH = hash_document({"found": "lost property office"})
REASON_HASH = hash_document({"why": "lifecycle test"})
SALE_REF = hash_document({"order": "SO-2002"})


def token(item: bytes) -> int:
    return int.from_bytes(item)


def metadata_hashes(passport: Contract, item: bytes) -> list[bytes]:
    """The item's metadata hashes in publication order, rebuilt from logs alone."""
    topic = {"itemId": item}
    logs = [
        *passport.events.ItemRegistered.get_logs(from_block=0, argument_filters=topic),
        *passport.events.MetadataUpdated.get_logs(from_block=0, argument_filters=topic),
    ]
    logs.sort(key=lambda log: (log["blockNumber"], log["logIndex"]))
    return [log["args"]["metadataHash"] for log in logs]


# ------------------------------------------------------------------ transfers of frozen items

TRANSFERS: dict[str, Callable[[Contract, str, str, bytes], ContractFunction]] = {
    "transferFrom": lambda p, src, dst, item: p.functions.transferFrom(src, dst, token(item)),
    "safeTransferFrom": lambda p, src, dst, item: p.get_function_by_signature(
        "safeTransferFrom(address,address,uint256)"
    )(src, dst, token(item)),
    "safeTransferFrom+data": lambda p, src, dst, item: p.get_function_by_signature(
        "safeTransferFrom(address,address,uint256,bytes)"
    )(src, dst, token(item), b"order"),
    "transferWithReference": lambda p, src, dst, item: p.functions.transferWithReference(
        src, dst, item, SALE_REF
    ),
}


@pytest.mark.parametrize("transfer", TRANSFERS)
@pytest.mark.parametrize("status", [ItemStatus.LOST, ItemStatus.STOLEN], ids=lambda s: s.name)
def test_transfer_of_flagged_item_is_refused(
    passport: Contract, accounts: DevAccounts, items: Items, status: ItemStatus, transfer: str
) -> None:
    owner = accounts.owner
    send(passport.functions.flag(items.active, status, REPORT_HASH), owner)

    move = TRANSFERS[transfer](passport, owner.address, accounts.stranger.address, items.active)
    expect_revert(lambda: send(move, owner), ItemIsFlagged, itemId=items.active, status=status)
    assert item_of(passport, items.active)["owner"] == owner.address


def test_transfer_of_stolen_item_is_refused_to_an_approved_operator_too(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, operator = accounts.owner, accounts.merchant
    send(passport.functions.setApprovalForAll(operator.address, True), owner)
    send(passport.functions.flag(items.active, ItemStatus.STOLEN, REPORT_HASH), accounts.admin)

    move = passport.functions.transferFrom(owner.address, operator.address, token(items.active))
    expect_revert(
        lambda: send(move, operator), ItemIsFlagged, itemId=items.active, status=ItemStatus.STOLEN
    )


@pytest.mark.parametrize("item", ["flagged", "retired"])
def test_approval_of_a_frozen_item_is_refused_but_may_be_revoked(
    passport: Contract, accounts: DevAccounts, items: Items, item: str
) -> None:
    frozen = getattr(items, item)
    owner, spender = accounts.owner, accounts.stranger
    grant = passport.functions.approve(spender.address, token(frozen))
    if item == "flagged":
        expect_revert(
            lambda: send(grant, owner), ItemIsFlagged, itemId=frozen, status=ItemStatus.LOST
        )
    else:
        expect_revert(lambda: send(grant, owner), ItemIsRetired, itemId=frozen)
    assert view(passport.functions.getApproved(token(frozen))) == ZERO_ADDRESS

    # Revoking stays possible, and operator-wide approval is not about one item.
    send(passport.functions.approve(ZERO_ADDRESS, token(frozen)), owner)
    send(passport.functions.setApprovalForAll(spender.address, True), owner)
    assert view(passport.functions.isApprovedForAll(owner.address, spender.address)) is True


def test_cleared_flag_allows_transfer_again(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, buyer = accounts.owner, accounts.stranger
    receipt = send(passport.functions.clearFlag(items.flagged, CLEARANCE_HASH), owner)

    (cleared,) = events(passport, receipt, "FlagCleared")
    assert dict(cleared["args"]) == {
        "itemId": items.flagged,
        "by": owner.address,
        "previous": ItemStatus.LOST,
        "clearanceHash": CLEARANCE_HASH,
    }
    send(passport.functions.transferFrom(owner.address, buyer.address, token(items.flagged)), owner)
    record = item_of(passport, items.flagged)
    assert (record["owner"], record["status"]) == (buyer.address, ItemStatus.ACTIVE)


def test_owner_cannot_clear_an_admin_raised_flag(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    send(passport.functions.flag(items.active, ItemStatus.STOLEN, REPORT_HASH), accounts.admin)
    assert item_of(passport, items.active)["flaggedByAdmin"] is True

    clear = passport.functions.clearFlag(items.active, CLEARANCE_HASH)
    expect_revert(lambda: send(clear, accounts.owner), FlagHeldByAdmin, itemId=items.active)
    assert item_of(passport, items.active)["status"] == ItemStatus.STOLEN

    send(clear, accounts.admin)
    record = item_of(passport, items.active)
    assert (record["status"], record["flaggedByAdmin"]) == (ItemStatus.ACTIVE, False)


def test_admin_can_clear_a_flag_the_owner_raised(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    send(passport.functions.clearFlag(items.flagged, CLEARANCE_HASH), accounts.admin)
    assert item_of(passport, items.flagged)["status"] == ItemStatus.ACTIVE


def test_flagging_a_flagged_item_is_refused_with_its_current_status(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    flag = passport.functions.flag(items.flagged, ItemStatus.STOLEN, REPORT_HASH)
    expect_revert(
        lambda: send(flag, accounts.admin),
        ItemIsFlagged,
        itemId=items.flagged,
        status=ItemStatus.LOST,
    )


@pytest.mark.parametrize("status", [ItemStatus.ACTIVE, ItemStatus.RETIRED], ids=lambda s: s.name)
def test_a_flag_must_be_lost_or_stolen(
    passport: Contract, accounts: DevAccounts, items: Items, status: ItemStatus
) -> None:
    flag = passport.functions.flag(items.active, status, REPORT_HASH)
    expect_revert(lambda: send(flag, accounts.owner), InvalidFlag, status=status)


def test_clearing_an_unflagged_item_is_refused(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    clear = passport.functions.clearFlag(items.active, CLEARANCE_HASH)
    expect_revert(lambda: send(clear, accounts.owner), ItemNotFlagged, itemId=items.active)


# ------------------------------------------------------------------ retirement


def _retired_item_calls(
    p: Contract, a: DevAccounts, item: bytes
) -> dict[str, tuple[ContractFunction, LocalAccount]]:
    """Every change to a retired item, each by a caller who could make it on a live one."""
    owner = a.owner
    return {
        "transferFrom": (
            p.functions.transferFrom(owner.address, a.stranger.address, token(item)),
            owner,
        ),
        "transferWithReference": (
            p.functions.transferWithReference(owner.address, a.stranger.address, item, SALE_REF),
            owner,
        ),
        "flag": (p.functions.flag(item, ItemStatus.STOLEN, REPORT_HASH), owner),
        "clearFlag": (p.functions.clearFlag(item, CLEARANCE_HASH), a.admin),
        "authenticate": (
            p.functions.authenticate(item, Verdict.AUTHENTIC, ConditionGrade.GOOD, EVIDENCE_HASH),
            a.authenticator,
        ),
        "recordService": (
            p.functions.recordService(item, ServiceKind.REPAIR, EVIDENCE_HASH),
            a.merchant,
        ),
        "updateMetadata": (
            p.functions.updateMetadata(item, hash_document({"v": 2}), "ipfs://v2"),
            a.merchant,  # its registrant
        ),
        "retire": (p.functions.retire(item, RetirementKind.DESTROYED, EVIDENCE_HASH), owner),
        "approve": (p.functions.approve(a.stranger.address, token(item)), owner),
    }


@pytest.mark.parametrize(
    "change",
    [
        "transferFrom",
        "transferWithReference",
        "flag",
        "clearFlag",
        "authenticate",
        "recordService",
        "updateMetadata",
        "retire",
        "approve",
    ],
)
def test_retired_item_refuses_every_change(
    passport: Contract, accounts: DevAccounts, items: Items, change: str
) -> None:
    before = item_of(passport, items.retired)
    assert before["status"] == ItemStatus.RETIRED

    fn, caller = _retired_item_calls(passport, accounts, items.retired)[change]
    expect_revert(lambda: send(fn, caller), ItemIsRetired, itemId=items.retired)
    assert item_of(passport, items.retired) == before


def test_retiring_records_who_how_and_the_evidence(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    retire = passport.functions.retire(items.active, RetirementKind.DISMANTLED, EVIDENCE_HASH)
    (retired,) = events(passport, send(retire, accounts.owner), "ItemRetired")
    assert dict(retired["args"]) == {
        "itemId": items.active,
        "by": accounts.owner.address,
        "kind": RetirementKind.DISMANTLED,
        "evidenceHash": EVIDENCE_HASH,
    }
    assert item_of(passport, items.active)["status"] == ItemStatus.RETIRED


def test_owner_cannot_retire_an_item_the_admin_flagged(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    # Retiring would overwrite the admin's Stolen status and free the item for a successor
    # passport: a way around "only the admin clears an admin-raised flag".
    send(passport.functions.flag(items.active, ItemStatus.STOLEN, REPORT_HASH), accounts.admin)
    retire = passport.functions.retire(items.active, RetirementKind.REMANUFACTURED, EVIDENCE_HASH)

    expect_revert(lambda: send(retire, accounts.owner), FlagHeldByAdmin, itemId=items.active)
    record = item_of(passport, items.active)
    assert (record["status"], record["flaggedByAdmin"]) == (ItemStatus.STOLEN, True)

    send(retire, accounts.admin)
    assert item_of(passport, items.active)["status"] == ItemStatus.RETIRED


def test_owner_may_retire_an_item_they_reported_lost(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    retire = passport.functions.retire(items.flagged, RetirementKind.DESTROYED, EVIDENCE_HASH)
    send(retire, accounts.owner)
    assert item_of(passport, items.flagged)["status"] == ItemStatus.RETIRED


# ------------------------------------------------------------------ registration


@pytest.mark.parametrize("registrant", ["merchant", "brand"])  # first registered by merchant
def test_registering_an_item_twice_is_refused(
    passport: Contract, accounts: DevAccounts, items: Items, registrant: str
) -> None:
    caller: LocalAccount = getattr(accounts, registrant)
    again = passport.functions.register(items.active, METADATA_HASH, "", caller.address)
    expect_revert(lambda: send(again, caller), ItemAlreadyRegistered, itemId=items.active)
    assert item_of(passport, items.active)["registrant"] == accounts.merchant.address


@pytest.mark.parametrize("duplicate_at", ["pre-existing", "within-batch"])
def test_batch_with_one_duplicate_registers_nothing_and_names_it(
    passport: Contract, accounts: DevAccounts, items: Items, duplicate_at: str
) -> None:
    new = list(items.fresh[:3])
    if duplicate_at == "pre-existing":
        batch, duplicate = [new[0], new[1], items.active, new[2]], items.active
    else:
        batch, duplicate = [new[0], new[1], new[0], new[2]], new[0]
    owner = accounts.owner.address
    balance = view(passport.functions.balanceOf(owner))
    register = passport.functions.registerBatch(owner, batch, [METADATA_HASH] * len(batch), [])

    expect_revert(
        lambda: send(register, accounts.merchant), ItemAlreadyRegistered, itemId=duplicate
    )
    assert view(passport.functions.areRegistered(new)) == [False, False, False]
    assert view(passport.functions.balanceOf(owner)) == balance

    # Dropping the named duplicate is all it takes to resubmit.
    resubmit = passport.functions.registerBatch(owner, new, [METADATA_HASH] * len(new), [])
    send(resubmit, accounts.merchant)
    assert view(passport.functions.areRegistered(new)) == [True, True, True]


def test_batch_registers_every_item_to_the_owner_with_its_uri(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    new = list(items.fresh[:2])
    hashes = [hash_document({"n": 1}), hash_document({"n": 2})]
    owner = accounts.owner.address
    register = passport.functions.registerBatch(owner, new, hashes, ["ipfs://1", ""])
    receipt = send(register, accounts.merchant)

    registered = events(passport, receipt, "ItemRegistered")
    assert [(e["args"]["itemId"], e["args"]["metadataHash"]) for e in registered] == list(
        zip(new, hashes, strict=True)
    )
    # A URI is published only where one was given.
    published = events(passport, receipt, "MetadataUpdated")
    assert [(e["args"]["itemId"], e["args"]["metadataURI"]) for e in published] == [
        (new[0], "ipfs://1")
    ]
    assert {item_of(passport, item)["owner"] for item in new} == {owner}


def test_batch_arrays_must_match_and_not_be_empty(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, merchant = accounts.owner.address, accounts.merchant
    fn = passport.functions
    expect_revert(lambda: send(fn.registerBatch(owner, [], [], []), merchant), EmptyBatch)
    new = list(items.fresh[:2])
    expect_revert(
        lambda: send(fn.registerBatch(owner, new, [METADATA_HASH], []), merchant),
        BatchLengthMismatch,
        itemIds=2,
        metadataHashes=1,
        uris=0,
    )
    expect_revert(
        lambda: send(fn.registerBatch(owner, new, [METADATA_HASH] * 2, ["ipfs://1"]), merchant),
        BatchLengthMismatch,
        itemIds=2,
        metadataHashes=2,
        uris=1,
    )


def test_registration_needs_an_item_id_a_metadata_hash_and_an_owner(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    fn, merchant, owner = passport.functions, accounts.merchant, accounts.owner.address
    new = items.fresh[0]
    expect_revert(
        lambda: send(fn.register(ZERO_HASH, METADATA_HASH, "", owner), merchant), InvalidItemId
    )
    expect_revert(
        lambda: send(fn.register(new, ZERO_HASH, "", owner), merchant), MissingHash, itemId=new
    )
    zero_owner = "0x" + "00" * 20
    expect_revert(
        lambda: send(fn.register(new, METADATA_HASH, "", zero_owner), merchant),
        TransferToZeroAddress,
    )


def test_metadata_history_is_kept_in_events(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    new, merchant = items.fresh[0], accounts.merchant
    first, second, third = (hash_document({"condition": c}) for c in ("new", "good", "fair"))
    fn = passport.functions
    send(fn.register(new, first, "", accounts.owner.address), merchant)
    send(fn.updateMetadata(new, second, "ipfs://second"), merchant)
    receipt = send(fn.updateMetadata(new, third, ""), merchant)

    assert metadata_hashes(passport, new) == [first, second, third]
    (update,) = events(passport, receipt, "MetadataUpdated")
    assert dict(update["args"]) == {
        "itemId": new,
        "by": merchant.address,
        "metadataHash": third,
        "metadataURI": "",
    }


def test_registration_with_a_uri_publishes_the_same_hash(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    new, merchant = items.fresh[0], accounts.merchant
    register = passport.functions.register(new, METADATA_HASH, "ipfs://doc", accounts.owner.address)
    receipt = send(register, merchant)

    (published,) = events(passport, receipt, "MetadataUpdated")
    assert dict(published["args"]) == {
        "itemId": new,
        "by": merchant.address,
        "metadataHash": METADATA_HASH,
        "metadataURI": "ipfs://doc",
    }
    # The newest hash is the current one; a repeat of the same hash does not change history's end.
    assert metadata_hashes(passport, new) == [METADATA_HASH, METADATA_HASH]


def test_metadata_may_be_updated_by_its_registrant_or_by_an_owner_who_is_a_merchant(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, merchant, brand = accounts.owner, accounts.merchant, accounts.brand
    fn, item = passport.functions, items.certified  # registered by brand
    update = fn.updateMetadata(item, hash_document({"v": 2}), "")
    expect_revert(
        lambda: send(update, merchant), NotOwnerNorRegistrant, itemId=item, caller=merchant
    )

    send(fn.transferFrom(owner.address, merchant.address, token(item)), owner)
    send(update, merchant)  # now its owner
    send(fn.updateMetadata(item, hash_document({"v": 3}), ""), brand)  # still its registrant
    assert metadata_hashes(passport, item)[-2:] == [
        hash_document({"v": 2}),
        hash_document({"v": 3}),
    ]


def test_metadata_update_needs_a_hash(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    update = passport.functions.updateMetadata(items.active, ZERO_HASH, "ipfs://x")
    expect_revert(lambda: send(update, accounts.merchant), MissingHash, itemId=items.active)


def test_brand_registration_is_brand_certified_and_a_merchants_is_not(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner = accounts.owner.address
    by_brand, by_merchant = items.fresh[0], items.fresh[1]
    fn = passport.functions
    brand_receipt = send(fn.register(by_brand, METADATA_HASH, "", owner), accounts.brand)
    merchant_receipt = send(fn.register(by_merchant, METADATA_HASH, "", owner), accounts.merchant)

    assert dict(events(passport, brand_receipt, "ItemRegistered")[0]["args"]) == {
        "itemId": by_brand,
        "registrant": accounts.brand.address,
        "metadataHash": METADATA_HASH,
        "brandCertified": True,
    }
    assert (
        events(passport, merchant_receipt, "ItemRegistered")[0]["args"]["brandCertified"] is False
    )
    assert item_of(passport, by_brand)["brandCertified"] is True
    assert item_of(passport, by_merchant)["brandCertified"] is False
    assert item_of(passport, items.certified)["brandCertified"] is True


def test_registered_item_records_owner_and_registrant(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    registrant_id = account_of(passport, accounts.merchant)["id"]
    assert item_of(passport, items.active) == {
        "owner": accounts.owner.address,
        "status": ItemStatus.ACTIVE,
        "brandCertified": False,
        "flaggedByAdmin": False,
        "locked": False,
        "lastVerdict": Verdict.NONE,
        "registrant": accounts.merchant.address,
        "registrantId": registrant_id,
        "transferNonce": 0,
    }


def test_unknown_item_is_not_registered(passport: Contract, items: Items) -> None:
    unknown = items.fresh[0]
    expect_revert(
        lambda: view(passport.functions.itemOf(unknown)), ItemNotRegistered, itemId=unknown
    )
    assert view(passport.functions.areRegistered([items.active, unknown])) == [True, False]


# ------------------------------------------------------------------ account standing


def test_suspension_takes_effect_at_once_and_reinstatement_restores(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    merchant, admin, owner = accounts.merchant, accounts.admin, accounts.owner.address
    fn = passport.functions
    send(fn.register(items.fresh[0], METADATA_HASH, "", owner), merchant)

    send(fn.suspend(merchant.address, REASON_HASH), admin)
    register = fn.register(items.fresh[1], METADATA_HASH, "", owner)
    expect_revert(
        lambda: send(register, merchant),
        AccountNotActive,
        account=merchant,
        status=AccountStatus.SUSPENDED,
    )

    receipt = send(fn.reinstate(merchant.address, REASON_HASH), admin)
    (changed,) = events(passport, receipt, "AccountStatusChanged")
    assert dict(changed["args"]) == {
        "account": merchant.address,
        "previous": AccountStatus.SUSPENDED,
        "status": AccountStatus.ACTIVE,
        "by": admin.address,
        "reasonHash": REASON_HASH,
    }
    send(register, merchant)
    assert item_of(passport, items.fresh[1])["registrant"] == merchant.address


def test_suspended_registrant_cannot_update_its_items_metadata(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    send(passport.functions.suspend(accounts.merchant.address, REASON_HASH), accounts.admin)
    update = passport.functions.updateMetadata(items.active, METADATA_HASH, "")
    expect_revert(
        lambda: send(update, accounts.merchant),
        AccountNotActive,
        account=accounts.merchant,
        status=AccountStatus.SUSPENDED,
    )


def test_revoked_account_cannot_be_reinstated_but_can_be_vetted_again(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    revoked, admin = accounts.revoked_merchant, accounts.admin
    fn = passport.functions
    reinstate = fn.reinstate(revoked.address, REASON_HASH)
    expect_revert(
        lambda: send(reinstate, admin),
        InvalidStatusTransition,
        account=revoked,
        **{"from": AccountStatus.REVOKED, "to": AccountStatus.ACTIVE},
    )
    old = account_of(passport, revoked)

    receipt = send(fn.vet(revoked.address, *vetting_args("Reformed Resale", Role.MERCHANT)), admin)
    (changed,) = events(passport, receipt, "AccountStatusChanged")
    assert (changed["args"]["previous"], changed["args"]["status"]) == (
        AccountStatus.REVOKED,
        AccountStatus.ACTIVE,
    )
    new = account_of(passport, revoked)
    assert (new["id"], new["status"], new["name"]) == (
        old["id"],  # the registry id is stable across vettings
        AccountStatus.ACTIVE,
        "Reformed Resale",
    )
    send(fn.register(items.fresh[0], METADATA_HASH, "", accounts.owner.address), revoked)


def test_suspended_account_can_be_revoked(passport: Contract, accounts: DevAccounts) -> None:
    suspended = accounts.suspended_merchant
    send(passport.functions.revoke(suspended.address, REASON_HASH), accounts.admin)
    assert account_of(passport, suspended)["status"] == AccountStatus.REVOKED


@pytest.mark.parametrize(
    "case",
    [
        "already-active",
        "no-roles",
        "unknown-role",
        "zero-address",
        "no-credentials",
        "no-name",
        "suspend-unvetted",
        "amend-suspended",
    ],
)
def test_vetting_decisions_are_validated(
    passport: Contract, accounts: DevAccounts, case: str
) -> None:
    fn, admin = passport.functions, accounts.admin
    merchant, spare = accounts.merchant.address, accounts.spare.address
    roles, credential, name, reason = vetting_args("Newcomer Resale", Role.MERCHANT)
    zero = "0x" + "00" * 20
    cases: dict[str, tuple[ContractFunction, type[ContractError], dict[str, object]]] = {
        "already-active": (
            fn.vet(merchant, roles, credential, name, reason),
            AccountAlreadyActive,
            {"account": merchant},
        ),
        "no-roles": (fn.vet(spare, 0, credential, name, reason), InvalidRoles, {"roles": 0}),
        "unknown-role": (fn.vet(spare, 16, credential, name, reason), InvalidRoles, {"roles": 16}),
        "zero-address": (
            fn.vet(zero, roles, credential, name, reason),
            InvalidAccount,
            {"account": zero},
        ),
        "no-credentials": (
            fn.vet(spare, roles, ZERO_HASH, name, reason),
            MissingCredentialHash,
            {"account": spare},
        ),
        "no-name": (fn.vet(spare, roles, credential, "", reason), EmptyName, {"account": spare}),
        "suspend-unvetted": (fn.suspend(spare, reason), AccountNotVetted, {"account": spare}),
        "amend-suspended": (
            fn.amend(accounts.suspended_merchant.address, roles, credential, name, reason),
            InvalidStatusTransition,
            {
                "account": accounts.suspended_merchant.address,
                "from": AccountStatus.SUSPENDED,
                "to": AccountStatus.ACTIVE,
            },
        ),
    }
    call, error, args = cases[case]
    expect_revert(lambda: send(call, admin), error, **args)


def test_vetting_records_credentials_name_and_decision(
    passport: Contract, accounts: DevAccounts
) -> None:
    roles, credential, name, reason = vetting_args("Newcomer Resale", Role.MERCHANT | Role.BRAND)
    newcomer, admin = accounts.spare, accounts.admin
    count = view(passport.functions.accountCount())
    receipt = send(passport.functions.vet(newcomer.address, roles, credential, name, reason), admin)

    (vetted,) = events(passport, receipt, "AccountVetted")
    assert dict(vetted["args"]) == {
        "account": newcomer.address,
        "id": count + 1,
        "roles": roles,
        "credentialHash": credential,
        "name": name,
        "by": admin.address,
        "reasonHash": reason,
    }
    assert events(passport, receipt, "AccountStatusChanged") == []  # a first vetting
    record = account_of(passport, newcomer)
    assert (record["id"], record["roles"], record["status"], record["credentialHash"]) == (
        count + 1,
        roles,
        AccountStatus.ACTIVE,
        credential,
    )
    assert view(passport.functions.accountById(count + 1)) == newcomer.address


# ------------------------------------------------------------------ transfers


def test_transfer_nonce_increments_on_every_transfer(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, stranger, spare = accounts.owner, accounts.stranger, accounts.spare
    item, fn = items.active, passport.functions
    safe = passport.get_function_by_signature("safeTransferFrom(address,address,uint256)")
    hops: list[tuple[ContractFunction, LocalAccount, LocalAccount]] = [
        (fn.transferFrom(owner.address, stranger.address, token(item)), owner, stranger),
        (safe(stranger.address, spare.address, token(item)), stranger, spare),
        (fn.transferWithReference(spare.address, owner.address, item, SALE_REF), spare, owner),
        (fn.transferFrom(owner.address, owner.address, token(item)), owner, owner),  # to oneself
    ]
    for nonce, (move, sender, new_owner) in enumerate(hops, start=1):
        send(move, sender)
        record = item_of(passport, item)
        assert (record["owner"], record["transferNonce"]) == (new_owner.address, nonce)


def test_refused_transfer_leaves_the_nonce_alone(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    move = passport.functions.transferFrom(
        accounts.owner.address, accounts.stranger.address, token(items.active)
    )
    expect_revert(lambda: send(move, accounts.stranger), NotOwnerNorApproved)
    assert item_of(passport, items.active)["transferNonce"] == 0


def test_approved_operator_may_transfer_and_the_approval_is_then_spent(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, operator, buyer = accounts.owner, accounts.merchant, accounts.stranger
    fn, tid = passport.functions, token(items.active)
    send(fn.approve(operator.address, tid), owner)
    send(fn.transferFrom(owner.address, buyer.address, tid), operator)

    assert view(fn.ownerOf(tid)) == buyer.address
    assert view(fn.getApproved(tid)) == "0x" + "00" * 20
    back = fn.transferFrom(buyer.address, owner.address, tid)
    expect_revert(lambda: send(back, operator), NotOwnerNorApproved)


def test_transfer_must_name_the_current_owner_and_a_recipient(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, fn, tid = accounts.owner, passport.functions, token(items.active)
    wrong_from = fn.transferFrom(accounts.stranger.address, accounts.spare.address, tid)
    expect_revert(lambda: send(wrong_from, owner), TransferFromIncorrectOwner)
    to_nobody = fn.transferFrom(owner.address, "0x" + "00" * 20, tid)
    expect_revert(lambda: send(to_nobody, owner), TransferToZeroAddress)


def test_transfer_with_reference_records_the_sale(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, buyer = accounts.owner, accounts.stranger
    sale = passport.functions.transferWithReference(
        owner.address, buyer.address, items.active, SALE_REF
    )
    receipt = send(sale, owner)

    (transfer,) = events(passport, receipt, "Transfer")
    assert dict(transfer["args"]) == {
        "from": owner.address,
        "to": buyer.address,
        "id": token(items.active),
    }
    (recorded,) = events(passport, receipt, "SaleRecorded")
    assert dict(recorded["args"]) == {
        "itemId": items.active,
        "from": owner.address,
        "to": buyer.address,
        "saleRef": SALE_REF,
    }


# ------------------------------------------------------------------ succession


@pytest.mark.parametrize("predecessor", ["active", "flagged"])
def test_successor_requires_a_retired_predecessor(
    passport: Contract, accounts: DevAccounts, items: Items, predecessor: str
) -> None:
    predecessor_id, successor = getattr(items, predecessor), items.fresh[0]
    succeed = passport.functions.registerSuccessor(
        predecessor_id, successor, METADATA_HASH, "", accounts.owner.address
    )
    expect_revert(
        lambda: send(succeed, accounts.merchant),
        PredecessorNotRetired,
        predecessorId=predecessor_id,
    )
    assert view(passport.functions.areRegistered([successor])) == [False]


def test_successor_of_an_unknown_item_is_refused(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    unknown, successor = items.fresh[1], items.fresh[0]
    succeed = passport.functions.registerSuccessor(
        unknown, successor, METADATA_HASH, "", accounts.owner.address
    )
    expect_revert(lambda: send(succeed, accounts.merchant), ItemNotRegistered, itemId=unknown)


def test_successor_of_a_retired_item_is_linked_to_it(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    owner, brand = accounts.owner.address, accounts.brand
    successor = item_id(brand="Maison Test", serial="REMADE-1")
    succeed = passport.functions.registerSuccessor(
        items.retired, successor, METADATA_HASH, "ipfs://remade", owner
    )
    receipt = send(succeed, brand)

    (succeeded,) = events(passport, receipt, "ItemSucceeded")
    assert dict(succeeded["args"]) == {
        "predecessorId": items.retired,
        "successorId": successor,
        "by": brand.address,
    }
    (registered,) = events(passport, receipt, "ItemRegistered")
    assert registered["args"]["itemId"] == successor
    record = item_of(passport, successor)
    assert (record["owner"], record["status"], record["brandCertified"]) == (
        owner,
        ItemStatus.ACTIVE,
        True,
    )
    assert item_of(passport, items.retired)["status"] == ItemStatus.RETIRED


# ------------------------------------------------------------------ records: who, what, evidence


def test_authentication_records_verdict_grade_and_evidence(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    authenticator = accounts.authenticator
    authenticate = passport.functions.authenticate(
        items.active, Verdict.COUNTERFEIT, ConditionGrade.FAIR, EVIDENCE_HASH
    )
    (authenticated,) = events(passport, send(authenticate, authenticator), "ItemAuthenticated")
    assert dict(authenticated["args"]) == {
        "itemId": items.active,
        "authenticator": authenticator.address,
        "verdict": Verdict.COUNTERFEIT,
        "grade": ConditionGrade.FAIR,
        "evidenceHash": EVIDENCE_HASH,
    }
    assert item_of(passport, items.active)["lastVerdict"] == Verdict.COUNTERFEIT


def test_authentication_must_state_a_verdict_and_evidence(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    fn, authenticator = passport.functions, accounts.authenticator
    no_verdict = fn.authenticate(items.active, Verdict.NONE, ConditionGrade.GOOD, EVIDENCE_HASH)
    expect_revert(lambda: send(no_verdict, authenticator), MissingVerdict, itemId=items.active)
    no_evidence = fn.authenticate(items.active, Verdict.AUTHENTIC, ConditionGrade.GOOD, ZERO_HASH)
    expect_revert(lambda: send(no_evidence, authenticator), MissingHash, itemId=items.active)


def test_service_records_who_what_and_evidence(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    service = passport.functions.recordService(
        items.certified, ServiceKind.PART_REPLACEMENT, EVIDENCE_HASH
    )
    (serviced,) = events(passport, send(service, accounts.merchant), "ItemServiced")
    assert dict(serviced["args"]) == {
        "itemId": items.certified,
        "by": accounts.merchant.address,
        "kind": ServiceKind.PART_REPLACEMENT,
        "evidenceHash": EVIDENCE_HASH,
    }


def test_flag_records_who_what_and_the_report(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    flag = passport.functions.flag(items.active, ItemStatus.LOST, REPORT_HASH)
    (flagged,) = events(passport, send(flag, accounts.owner), "ItemFlagged")
    assert dict(flagged["args"]) == {
        "itemId": items.active,
        "by": accounts.owner.address,
        "status": ItemStatus.LOST,
        "reportHash": REPORT_HASH,
    }
    record = item_of(passport, items.active)
    assert (record["status"], record["flaggedByAdmin"]) == (ItemStatus.LOST, False)


@pytest.mark.parametrize("change", ["flag", "clearFlag", "retire", "recordService"])
def test_records_without_evidence_are_refused(
    passport: Contract, accounts: DevAccounts, items: Items, change: str
) -> None:
    fn = passport.functions
    item = items.flagged if change == "clearFlag" else items.active
    calls: dict[str, tuple[ContractFunction, LocalAccount]] = {
        "flag": (fn.flag(item, ItemStatus.STOLEN, ZERO_HASH), accounts.owner),
        "clearFlag": (fn.clearFlag(item, ZERO_HASH), accounts.owner),
        "retire": (fn.retire(item, RetirementKind.RECYCLED, ZERO_HASH), accounts.owner),
        "recordService": (fn.recordService(item, ServiceKind.REPAIR, ZERO_HASH), accounts.merchant),
    }
    call, caller = calls[change]
    expect_revert(lambda: send(call, caller), MissingHash, itemId=item)


# ------------------------------------------------------------------ ERC-721 surface


def test_token_uri_is_the_base_uri_followed_by_the_hex_item_id(
    passport: Contract, accounts: DevAccounts, items: Items
) -> None:
    uri = view(passport.functions.tokenURI(token(items.active)))
    assert uri == BASE_URI + "0x" + items.active.hex()
    assert len(uri) == len(BASE_URI) + 66  # always 32 bytes of hex, leading zeros kept

    send(passport.functions.setBaseURI("https://passports.example/i/"), accounts.admin)
    uri = view(passport.functions.tokenURI(token(items.active)))
    assert uri == "https://passports.example/i/0x" + items.active.hex()


def test_token_uri_of_an_unknown_item_is_refused(passport: Contract, items: Items) -> None:
    unknown = items.fresh[0]
    expect_revert(
        lambda: view(passport.functions.tokenURI(token(unknown))), ItemNotRegistered, itemId=unknown
    )


def test_name_symbol_and_balances(passport: Contract, accounts: DevAccounts) -> None:
    assert view(passport.functions.name()) == "Provenance Item Passport"
    assert view(passport.functions.symbol()) == "PASSPORT"
    assert view(passport.functions.balanceOf(accounts.owner.address)) == 4


@pytest.mark.parametrize(
    ("interface_id", "supported"),
    [
        pytest.param("0x01ffc9a7", True, id="ERC165"),
        pytest.param("0x80ac58cd", True, id="ERC721"),
        pytest.param("0x5b5e139f", True, id="ERC721Metadata"),
        pytest.param("0x7965db0b", True, id="IAccessControl"),
        pytest.param("0x31498786", True, id="IAccessControlDefaultAdminRules"),
        pytest.param("0x780e9d63", False, id="ERC721Enumerable"),
        pytest.param("0xffffffff", False, id="invalid"),
    ],
)
def test_supports_interface(passport: Contract, interface_id: str, supported: bool) -> None:
    assert view(passport.functions.supportsInterface(bytes.fromhex(interface_id[2:]))) is supported
