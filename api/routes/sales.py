"""``/sales``: escrowed sales, from purchase to settlement.

A purchase (``/listings/{id}/purchase``, ``/orders/purchase``) opens a sale in state ``paid``:
the price is in escrow and the item is locked. The seller ships (``shipped``) before the
shipping deadline or cancels; the buyer confirms delivery, or disputes (``/disputes``) before
the delivery deadline; after it, anyone may finalize. Settling credits the money (see
``/accounts/{address}/credits`` and ``/withdrawals``). Each write signs with the caller's own
account, and the contract checks that it is the right party at the right time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.deps import MarketReaderDep
from api.routes._common import ACCEPTED, errors
from api.routes._market import SaleWritesDep
from api.routing import GuardedRoute
from api.schemas.market import MAX_ID, SaleActionView, SaleView, ShipmentCreate
from api.views import hex32
from ledger.types import Sale

__all__ = ["SaleIdPath", "router", "sale_view"]

router = APIRouter(prefix="/sales", tags=["market"], route_class=GuardedRoute)

SaleIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The sale's id.")]
_WRITE_ERRORS = {**errors(401, 403, 404, 409, 502), **ACCEPTED}


def sale_view(sale: Sale) -> SaleView:
    return SaleView(
        sale_id=sale.sale_id,
        item_id=hex32(sale.item_id),
        seller=sale.seller,
        buyer=sale.buyer,
        price_wei=str(sale.price),
        fee_bps=sale.fee_bps,
        state=sale.state.name.lower(),
        open=sale.state.is_open,
        deadline=sale.deadline,
        dispute_reason=sale.dispute_reason.name.lower(),
    )


@router.get("/{sale_id}", response_model=SaleView, responses=errors(404))
def get_sale(sale_id: SaleIdPath, market: MarketReaderDep) -> SaleView:
    """A sale: its parties, price and fee, its state and the deadline of its current step."""
    return sale_view(market.sale(sale_id))


@router.post("/{sale_id}/ship", response_model=SaleActionView, responses=_WRITE_ERRORS)
def ship_sale(sale_id: SaleIdPath, body: ShipmentCreate, sales: SaleWritesDep) -> JSONResponse:
    """The seller reports the item shipped (``shipment_ref``: carrier and tracking, hashed);
    starts the buyer's delivery window. 403 ``not_seller``; 409 ``wrong_sale_state``,
    ``deadline_passed``."""
    return sales.run(
        sale_id,
        lambda market: market.mark_shipped(sale_id=sale_id, shipment_ref=body.shipment_ref),
        body=body,
    )


@router.post("/{sale_id}/confirm", response_model=SaleActionView, responses=_WRITE_ERRORS)
def confirm_sale(sale_id: SaleIdPath, sales: SaleWritesDep) -> JSONResponse:
    """The buyer confirms delivery: the item goes to the buyer; the price less the fee is
    credited to the seller, the fee to the treasury. 403 ``not_buyer``."""
    return sales.run(sale_id, lambda market: market.confirm_delivery(sale_id=sale_id))


@router.post("/{sale_id}/finalize", response_model=SaleActionView, responses=_WRITE_ERRORS)
def finalize_sale(sale_id: SaleIdPath, sales: SaleWritesDep) -> JSONResponse:
    """Anyone (any key) settles a shipped sale as delivered once its delivery deadline has
    passed with neither confirmation nor dispute. 409 ``deadline_not_reached`` before."""
    return sales.run(sale_id, lambda market: market.finalize(sale_id=sale_id))


@router.post("/{sale_id}/cancel", response_model=SaleActionView, responses=_WRITE_ERRORS)
def cancel_sale(sale_id: SaleIdPath, sales: SaleWritesDep) -> JSONResponse:
    """Unwind a sale never shipped: the seller at any time, the buyer once the shipping deadline
    has passed (409 ``deadline_not_reached`` before). The buyer is credited the full price; the
    item stays with the seller. 403 ``not_party``; 409 ``wrong_sale_state`` once shipped."""
    return sales.run(sale_id, lambda market: market.cancel_unshipped(sale_id=sale_id))
