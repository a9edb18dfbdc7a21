"""``/disputes``: a buyer's dispute of a shipped sale, and its ruling.

A dispute is keyed by its sale's id (a sale has at most one). The buyer opens it before the
delivery deadline; both parties add evidence until the ruling deadline; an arbiter (an ARBITER
key whose account is vetted and active as an arbiter, and not a party) rules; if nobody rules in
time, either party settles it with the default, a full refund. Evidence is hashed (only the
hash goes on chain, with an optional URI saying where the document is), following ERC-1497.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import GatewayDep, MarketReaderDep
from api.errors import ApiError
from api.routes._common import ACCEPTED, errors
from api.routes._market import ArbiterSaleWritesDep, SaleWritesDep
from api.routes.sales import SaleIdPath, sale_view
from api.routing import GuardedRoute
from api.schemas.market import (
    DisputeCreate,
    DisputeView,
    EvidenceCreate,
    RulingCreate,
    SaleActionView,
)
from api.views import event_view
from ledger.types import DisputeReason, Ruling

__all__ = ["router"]

router = APIRouter(prefix="/disputes", tags=["market"], route_class=GuardedRoute)

_WRITE_ERRORS = {**errors(401, 403, 404, 409, 502), **ACCEPTED}
# The item-history kinds that belong to a dispute (the purchase and shipment are the sale's).
_DISPUTE_KINDS = frozenset(
    {"dispute_opened", "evidence_submitted", "dispute_ruled", "sale_settled"}
)


@router.post("", status_code=201, response_model=SaleActionView, responses=_WRITE_ERRORS)
def open_dispute(body: DisputeCreate, sales: SaleWritesDep) -> JSONResponse:
    """The buyer disputes a shipped sale before its delivery deadline, with a reason and
    evidence (hashed; ``uri`` says where it can be fetched). Starts the ruling window.
    403 ``not_buyer``; 409 ``wrong_sale_state`` (not shipped), ``deadline_passed``."""
    return sales.run(
        body.sale_id,
        lambda market: market.open_dispute(
            sale_id=body.sale_id,
            reason=DisputeReason[body.reason.name],
            evidence=body.evidence,
            uri=body.uri,
        ),
        body=body,
        status_code=201,
    )


@router.get("/{sale_id}", response_model=DisputeView, responses=errors(404))
def get_dispute(sale_id: SaleIdPath, market: MarketReaderDep, gateway: GatewayDep) -> DisputeView:
    """The dispute of a sale: the sale (state ``disputed`` while open, its deadline is then the
    ruling deadline) and the dispute's events from the item's history: its opening, every
    evidence submission (party, hash, URI), the ruling and the settlement. 404
    ``sale_not_found``, or ``dispute_not_found`` for a sale never disputed. The history is
    read from the event index when it is caught up (as ``GET /items/{item_id}/history``)."""
    sale = market.sale(sale_id)
    if sale.dispute_reason is DisputeReason.NONE:
        raise ApiError(404, "dispute_not_found", f"sale {sale_id} has never been disputed")
    events = [
        event_view(event)
        for event in gateway.item_reads().history(sale.item_id)
        if event.kind in _DISPUTE_KINDS and event.data.get("sale_id") == sale_id
    ]
    return DisputeView(sale=sale_view(sale), events=events)


@router.post(
    "/{sale_id}/evidence", status_code=201, response_model=SaleActionView, responses=_WRITE_ERRORS
)
def submit_evidence(
    sale_id: SaleIdPath, body: EvidenceCreate, sales: SaleWritesDep
) -> JSONResponse:
    """A party (buyer or seller) adds evidence to an open dispute until the ruling deadline.
    403 ``not_party``; 409 ``wrong_sale_state``, ``deadline_passed``."""
    return sales.run(
        sale_id,
        lambda market: market.submit_evidence(
            sale_id=sale_id, evidence=body.evidence, uri=body.uri
        ),
        body=body,
        status_code=201,
    )


@router.post("/{sale_id}/ruling", response_model=SaleActionView, responses=_WRITE_ERRORS)
def rule_dispute(
    sale_id: SaleIdPath, body: RulingCreate, sales: ArbiterSaleWritesDep
) -> JSONResponse:
    """An arbiter rules before the ruling deadline (ARBITER key; other keys: 403 ``forbidden``).

    ``refund``: the buyer is credited the price, the item stays with the seller; ``release``:
    settled as delivered; ``partial_refund``: the item goes to the buyer and ``buyer_share_bps``
    (1..9999) of the price is refunded. ``counterfeit`` (not with release) records a counterfeit
    verdict on the item's passport. Refusals from the chain: 403 ``account_lacks_role`` /
    ``account_not_active`` (the account is not a vetted, active arbiter), ``arbiter_is_party``;
    409 ``deadline_passed``, ``wrong_sale_state``; 422 ``invalid_ruling`` (an inconsistent
    combination)."""
    return sales.run(
        sale_id,
        lambda market: market.rule(
            sale_id=sale_id,
            ruling=Ruling[body.ruling.name],
            ruling_evidence=body.ruling_evidence,
            buyer_share_bps=body.buyer_share_bps,
            counterfeit=body.counterfeit,
        ),
        body=body,
    )


@router.post("/{sale_id}/default", response_model=SaleActionView, responses=_WRITE_ERRORS)
def execute_default(sale_id: SaleIdPath, sales: SaleWritesDep) -> JSONResponse:
    """After the ruling deadline with no ruling, a party settles the dispute with the default: a
    full refund to the buyer, the item stays with the seller. 403 ``not_party``; 409
    ``deadline_not_reached``."""
    return sales.run(sale_id, lambda market: market.execute_default(sale_id=sale_id))
