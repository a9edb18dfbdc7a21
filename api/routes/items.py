"""``/items``: item passports. Reads are public; writes sign with the caller's own account, so
the chain's ownership and vetting rules apply to the caller and nobody else."""

from __future__ import annotations

import logging
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import (
    AuthenticatorOperator,
    ClientDep,
    GatewayDep,
    ItemOperator,
    MerchantOperator,
    ReaderDep,
    SettingsDep,
    WriterDep,
)
from api.dossier import evidence_bundle, trust_report
from api.qr import page_url, qr_png, qr_svg
from api.routes._common import ACCEPTED, errors
from api.routing import GuardedRoute
from api.schemas.common import AddressStr, Brand, ItemIdStr, Serial
from api.schemas.enums import to_ledger
from api.schemas.items import (
    AttestationCreate,
    BatchEntryResult,
    BatchView,
    FlagClear,
    FlagCreate,
    HistoryView,
    IndexedItemView,
    ItemActionView,
    ItemBatchCreate,
    ItemCreate,
    ItemPageView,
    ItemView,
    RegistrationView,
    RetireRequest,
    ServiceCreate,
    TransferRequest,
    VerifyRequest,
)
from api.schemas.trust import ItemVerificationView, TrustReportView
from api.settings import Settings
from api.state import Gateway
from api.views import event_view, hex32, item_view, trust_view
from ledger.client import (
    DUPLICATE_IN_INPUT,
    NewItem,
    Registration,
    parse_item_id,
)
from ledger.errors import ConfigurationError
from ledger.evidence import bundle_json
from ledger.hashing import item_id as label_item_id
from ledger.ownership import require_owner
from ledger.types import (
    ConditionGrade,
    ItemId,
    ItemStatus,
    RetirementKind,
    ServiceKind,
    TxResult,
    Verdict,
)

__all__ = ["router"]

router = APIRouter(prefix="/items", tags=["items"], route_class=GuardedRoute)
log = logging.getLogger(__name__)
_T = TypeVar("_T")

ItemIdPath = Annotated[ItemIdStr, Path(description="The item id (0x-hex, 32 bytes).")]
_WRITE_ERRORS = {**errors(401, 403, 404, 409, 502), **ACCEPTED}


def _id(value: str) -> ItemId:
    return parse_item_id(value)


def _action(item_id: str, tx: TxResult) -> ItemActionView:
    return ItemActionView(
        item_id=item_id, tx_hash=tx.tx_hash, block_number=tx.block_number, gas_used=tx.gas_used
    )


def _read_item(gateway: Gateway, item_id: ItemId) -> ItemView:
    return item_view(*gateway.item_reads().item_state(item_id))


# ---------------------------------------------------------------------- registration


@router.post("", status_code=201, response_model=RegistrationView, responses=_WRITE_ERRORS)
def register_item(
    body: ItemCreate, operator: MerchantOperator, client: ClientDep, writer: WriterDep
) -> JSONResponse:
    """Give an item its passport (merchant or brand key). The owner defaults to the caller."""

    def operation() -> RegistrationView:
        registration = client.register(
            brand=body.brand,
            serial=body.serial,
            metadata=body.metadata,
            owner=body.owner,
            metadata_uri=body.metadata_uri,
        )
        return RegistrationView(
            item_id=hex32(registration.item_id),
            metadata_hash=hex32(registration.metadata_hash),
            owner=body.owner or operator.address,
            tx_hash=registration.tx.tx_hash,
            block_number=registration.tx.block_number,
            gas_used=registration.tx.gas_used,
        )

    return writer.run(scope=operator.id, body=body, operation=operation, status_code=201)


@router.post("/batch", status_code=201, response_model=BatchView, responses=_WRITE_ERRORS)
def register_batch(
    body: ItemBatchCreate, operator: MerchantOperator, client: ClientDep, writer: WriterDep
) -> JSONResponse:
    """Register up to 1000 items to one owner. Items already registered (or repeated in the
    batch) are skipped, not failed; ``results`` follows the request's order."""

    def operation() -> BatchView:
        entries = [
            NewItem(e.brand, e.serial, e.metadata, metadata_uri=e.metadata_uri) for e in body.items
        ]
        result = client.register_batch(items=entries, owner=body.owner)
        registered: dict[bytes, Registration] = {r.item_id: r for r in result.registered}
        reasons: dict[bytes, str] = {}
        for skipped_id, reason in result.skipped:
            if reason != DUPLICATE_IN_INPUT:
                reasons[skipped_id] = reason
        seen: set[bytes] = set()
        results: list[BatchEntryResult] = []
        for index, entry in enumerate(entries):
            new_id = label_item_id(brand=entry.brand, serial=entry.serial)
            registration = registered.get(new_id)
            if new_id in seen:
                row = BatchEntryResult(
                    index=index, item_id=hex32(new_id), status="skipped", reason=DUPLICATE_IN_INPUT
                )
            elif registration is not None:
                row = BatchEntryResult(
                    index=index,
                    item_id=hex32(new_id),
                    status="registered",
                    tx_hash=registration.tx.tx_hash,
                    block_number=registration.tx.block_number,
                )
            else:
                row = BatchEntryResult(
                    index=index,
                    item_id=hex32(new_id),
                    status="skipped",
                    reason=reasons.get(new_id, "skipped"),
                )
            seen.add(new_id)
            results.append(row)
        return BatchView(
            registered=len(result.registered),
            skipped=len(results) - len(result.registered),
            results=results,
        )

    return writer.run(scope=operator.id, body=body, operation=operation, status_code=201)


# ---------------------------------------------------------------------- reads (public)


CursorQuery = Annotated[
    str | None,
    Query(
        pattern=r"^0x[0-9a-fA-F]{64}$",
        description="The ``next_cursor`` of the previous page (absent: the first page).",
    ),
]
LimitQuery = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]


def item_page(
    gateway: GatewayDep,
    *,
    owner: str | None = None,
    status: str | None = None,
    registrant: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ItemPageView:
    """One page of items from the event index, caught up to the chain's head first (so a write
    that has returned is visible)."""
    reader = gateway.index_reader
    if reader is None:
        raise ConfigurationError("the event index is not open")
    gateway.catch_up_index()
    rows, next_cursor = reader.items(
        owner=owner, status=status, registrant=registrant, limit=limit, cursor=cursor
    )
    return ItemPageView(
        items=[IndexedItemView.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("", response_model=ItemPageView, responses=errors())
def list_items(
    gateway: GatewayDep,
    owner: Annotated[AddressStr | None, Query(description="Only items owned by this.")] = None,
    status: Annotated[
        str | None,
        Query(pattern=r"^[a-z_]{1,32}$", description="Only items in this status (e.g. active)."),
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> ItemPageView:
    """Items ordered by item id, from the event index; paginate with ``cursor``."""
    return item_page(gateway, owner=owner, status=status, limit=limit, cursor=cursor)


@router.get("/lookup", response_model=ItemView, responses=errors(404))
def lookup_item(
    gateway: GatewayDep,
    brand: Annotated[Brand, Query(description="The brand as printed on the label.")],
    serial: Annotated[Serial, Query(description="The serial as printed on the label.")],
) -> ItemView:
    """Find an item by its label (brand and serial are normalised as for registration).
    Served from the event index (caught up first), or the chain if the index lags."""
    return _read_item(gateway, label_item_id(brand=brand, serial=serial))


@router.get("/{item_id}", response_model=ItemView, responses=errors(404))
def get_item(item_id: ItemIdPath, gateway: GatewayDep) -> ItemView:
    """The item's current state. Served from the event index (caught up first), or the chain
    if the index lags."""
    return _read_item(gateway, _id(item_id))


@router.get("/{item_id}/history", response_model=HistoryView, responses=errors(404))
def get_history(item_id: ItemIdPath, gateway: GatewayDep) -> HistoryView:
    """Every event about the item, oldest first. Served from the event index (caught up
    first), or the chain if the index lags."""
    events = gateway.item_reads().history(_id(item_id))
    return HistoryView(item_id=item_id, events=[event_view(e) for e in events])


@router.post("/{item_id}/verify", response_model=ItemVerificationView, responses=errors(404))
def verify_item(
    item_id: ItemIdPath, body: VerifyRequest, gateway: GatewayDep
) -> ItemVerificationView:
    """Whether ``metadata`` is the item's current metadata document (by RFC 8785 hash), and
    the item's trust report (``trust``: verdict ok / caution / do_not_buy, the reasons with
    their rule ids, and the facts they rest on). Read from the event index when it is caught
    up, like ``GET /items/{item_id}``."""
    reads = gateway.item_reads()
    verification = reads.verify(item_id=_id(item_id), metadata=body.metadata)
    trust = trust_report(reads, verification.item_id)
    return ItemVerificationView(
        item_id=item_id,
        matches=verification.matches,
        given_hash=hex32(verification.given_hash),
        registered_hash=(
            None if verification.registered_hash is None else hex32(verification.registered_hash)
        ),
        item=item_view(verification.item, verification.registered_hash),
        trust=trust_view(trust),
    )


@router.get("/{item_id}/trust", response_model=TrustReportView, responses=errors(404))
def get_trust_report(item_id: ItemIdPath, gateway: GatewayDep) -> TrustReportView:
    """The trust report: a verdict (ok, caution, do_not_buy), every reason for it with the id of
    the rule that produced it, and the facts (flags, verdicts, disputes, registrant standing,
    owners, services, retirement). The rule table is in the README. The item and its history
    are read from the event index when it is caught up."""
    return trust_view(trust_report(gateway.item_reads(), _id(item_id)))


@router.get(
    "/{item_id}/evidence",
    response_class=Response,
    responses={
        200: {
            "description": "The evidence bundle (a download: evidence-<item id>.json).",
            "content": {"application/json": {"schema": {"type": "object"}}},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment; filename=evidence-<item id>.json",
                    "schema": {"type": "string"},
                }
            },
        },
        **errors(404),
    },
)
def get_evidence(item_id: ItemIdPath, reader: ReaderDep) -> Response:
    """Every log about the item, raw and decoded, with where it is on chain: anyone can re-check
    it against any node of the chain (``provenance verify-bundle FILE --rpc URL``)."""
    bundle = evidence_bundle(reader, _id(item_id))
    return Response(
        bundle_json(bundle).encode("utf-8"),
        media_type="application/json",
        headers={
            "Content-Disposition": f"attachment; filename=evidence-{item_id}.json",
            "Cache-Control": "no-store",
        },
    )


def _qr_headers(settings: Settings) -> dict[str, str]:
    # A registered item's page URL never changes, so the code may be cached; but without a
    # public URL it is built from the request's Host header, which a shared cache must not
    # hand to anyone else.
    scope = "public" if settings.public_url else "private"
    return {"Cache-Control": f"{scope}, max-age=3600"}


def _qr_responses(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "A QR code of the item's buyer's page URL (/verify/{item_id}).",
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        },
        **errors(404),
    }


@router.get("/{item_id}/qr.svg", response_class=Response, responses=_qr_responses("image/svg+xml"))
def get_qr_svg(
    item_id: ItemIdPath, request: Request, reader: ReaderDep, settings: SettingsDep
) -> Response:
    """The QR code for the item's label, as SVG: it opens the buyer's page."""
    item = reader.item(_id(item_id))
    url = page_url(settings=settings, request=request, item_hex=hex32(item.item_id))
    return Response(qr_svg(url), media_type="image/svg+xml", headers=_qr_headers(settings))


@router.get("/{item_id}/qr.png", response_class=Response, responses=_qr_responses("image/png"))
def get_qr_png(
    item_id: ItemIdPath, request: Request, reader: ReaderDep, settings: SettingsDep
) -> Response:
    """The QR code for the item's label, as PNG: it opens the buyer's page."""
    item = reader.item(_id(item_id))
    url = page_url(settings=settings, request=request, item_hex=hex32(item.item_id))
    return Response(qr_png(url), media_type="image/png", headers=_qr_headers(settings))


# ---------------------------------------------------------------------- item actions


@router.post("/{item_id}/transfer", response_model=ItemActionView, responses=_WRITE_ERRORS)
def transfer_item(
    item_id: ItemIdPath,
    body: TransferRequest,
    operator: MerchantOperator,
    client: ClientDep,
    writer: WriterDep,
) -> JSONResponse:
    """Move an item the caller owns to ``to`` (403 ``not_item_owner`` otherwise)."""

    def operation() -> ItemActionView:
        item = require_owner(client, _id(item_id))
        return _action(
            item_id, client.transfer(item_id=item.item_id, to=body.to, sale_ref=body.sale_ref)
        )

    return writer.run(scope=operator.id, body=body, operation=operation)


@router.post(
    "/{item_id}/attestations",
    status_code=201,
    response_model=ItemActionView,
    responses=_WRITE_ERRORS,
)
def attest_item(
    item_id: ItemIdPath,
    body: AttestationCreate,
    operator: AuthenticatorOperator,
    client: ClientDep,
    writer: WriterDep,
) -> JSONResponse:
    """Record an authentication (authenticator key)."""

    def operation() -> ItemActionView:
        tx = client.authenticate(
            item_id=_id(item_id),
            verdict=to_ledger(Verdict, body.verdict),
            grade=to_ledger(ConditionGrade, body.grade),
            evidence=body.evidence,
        )
        return _action(item_id, tx)

    return writer.run(scope=operator.id, body=body, operation=operation, status_code=201)


@router.post(
    "/{item_id}/services", status_code=201, response_model=ItemActionView, responses=_WRITE_ERRORS
)
def service_item(
    item_id: ItemIdPath,
    body: ServiceCreate,
    operator: MerchantOperator,
    client: ClientDep,
    writer: WriterDep,
) -> JSONResponse:
    """Record a repair, refurbishment or part replacement (merchant or brand key)."""

    def operation() -> ItemActionView:
        tx = client.record_service(
            item_id=_id(item_id), kind=to_ledger(ServiceKind, body.kind), evidence=body.evidence
        )
        return _action(item_id, tx)

    return writer.run(scope=operator.id, body=body, operation=operation, status_code=201)


@router.post(
    "/{item_id}/flags", status_code=201, response_model=ItemActionView, responses=_WRITE_ERRORS
)
def flag_item(
    item_id: ItemIdPath,
    body: FlagCreate,
    operator: ItemOperator,
    client: ClientDep,
    writer: WriterDep,
) -> JSONResponse:
    """Report an item lost or stolen: the admin, or a merchant/brand that owns it. Other owners
    sign the transaction themselves and send it through ``POST /relay``."""

    def operation() -> ItemActionView:
        tx = client.flag(
            item_id=_id(item_id), status=to_ledger(ItemStatus, body.status), report=body.report
        )
        return _action(item_id, tx)

    return writer.run(scope=operator.id, body=body, operation=operation, status_code=201)


@router.delete("/{item_id}/flags", response_model=ItemActionView, responses=_WRITE_ERRORS)
def clear_flag(
    item_id: ItemIdPath,
    body: FlagClear,
    operator: ItemOperator,
    client: ClientDep,
    writer: WriterDep,
) -> JSONResponse:
    """Clear a lost/stolen flag (a flag raised by the admin only the admin can clear)."""

    def operation() -> ItemActionView:
        return _action(item_id, client.clear_flag(item_id=_id(item_id), clearance=body.clearance))

    return writer.run(scope=operator.id, body=body, operation=operation)


@router.post("/{item_id}/retire", response_model=ItemActionView, responses=_WRITE_ERRORS)
def retire_item(
    item_id: ItemIdPath,
    body: RetireRequest,
    operator: ItemOperator,
    client: ClientDep,
    writer: WriterDep,
) -> JSONResponse:
    """End an item's life: the admin, or a merchant/brand that owns it."""

    def operation() -> ItemActionView:
        tx = client.retire(
            item_id=_id(item_id), kind=to_ledger(RetirementKind, body.kind), evidence=body.evidence
        )
        return _action(item_id, tx)

    return writer.run(scope=operator.id, body=body, operation=operation)
