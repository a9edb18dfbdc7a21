"""``/listings``: items offered for sale on the resale market at a fixed price.

A merchant or brand lists an item its account owns; any key's account may buy it, paying the
price into escrow (which opens a sale, see ``/sales``). Reads are public. The chain decides
everything else: who owns the item, whether it can be sold (flagged, retired, locked, found
counterfeit, a suspended seller), whether a listing is still buyable.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.deps import (
    ClientDep,
    CurrentOperator,
    MarketDep,
    MarketReaderDep,
    MerchantOperator,
    WriterDep,
)
from api.routes._common import ACCEPTED, errors
from api.routing import GuardedRoute
from api.schemas.market import (
    MAX_ID,
    ListingCancelled,
    ListingCreate,
    ListingCreated,
    ListingView,
    PurchaseView,
)
from api.views import hex32
from ledger.client import parse_item_id
from ledger.ownership import require_owner
from ledger.types import VoidReason, Wei

__all__ = ["router"]

router = APIRouter(prefix="/listings", tags=["market"], route_class=GuardedRoute)

ListingIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The listing's id.")]
_WRITE_ERRORS = {**errors(401, 403, 404, 409, 502), **ACCEPTED}


@router.post("", status_code=201, response_model=ListingCreated, responses=_WRITE_ERRORS)
def create_listing(
    body: ListingCreate,
    operator: MerchantOperator,
    client: ClientDep,
    market: MarketDep,
    writer: WriterDep,
) -> JSONResponse:
    """List an item the caller's account owns at ``price_wei`` until ``expiry`` (merchant or
    brand key). No approval is needed: the market holds the item through the passport.

    Refusals: 403 ``not_item_owner``; 404 ``item_not_registered``; 409 ``cannot_list`` (the item
    is flagged, retired, in escrow or found counterfeit, or the seller is suspended); 422
    ``invalid_expiry`` (not in the future)."""

    def operation() -> ListingCreated:
        # Ownership first: for someone else's item "not yours" is the answer, not the expiry.
        item = require_owner(client, parse_item_id(body.item_id))
        listing = market.list_item(
            item_id=item.item_id, price=Wei(body.price_wei), expiry=body.expiry
        )
        return ListingCreated(
            listing_id=listing.listing_id,
            item_id=hex32(item.item_id),
            seller=operator.address,
            price_wei=str(body.price_wei),
            expiry=body.expiry,
            tx_hash=listing.tx.tx_hash,
            block_number=listing.tx.block_number,
            gas_used=listing.tx.gas_used,
        )

    return writer.run(scope=operator.id, body=body, operation=operation, status_code=201)


@router.get("/{listing_id}", response_model=ListingView, responses=errors(404))
def get_listing(listing_id: ListingIdPath, market: MarketReaderDep) -> ListingView:
    """A listing, with why it cannot be bought now (``void_reason``: cancelled, filled, expired,
    item_moved, item_flagged, item_retired, item_locked, seller_not_active, counterfeit; none
    when ``buyable``)."""
    listing = market.listing(listing_id)
    reason = market.listing_void_reason(listing_id)
    return ListingView(
        listing_id=listing.listing_id,
        item_id=hex32(listing.item_id),
        seller=listing.seller,
        price_wei=str(listing.price),
        expiry=listing.expiry,
        item_nonce=listing.item_nonce,
        status=listing.status.name.lower(),
        void_reason=reason.name.lower(),
        buyable=reason is VoidReason.NONE,
    )


@router.delete("/{listing_id}", response_model=ListingCancelled, responses=_WRITE_ERRORS)
def cancel_listing(
    listing_id: ListingIdPath, operator: CurrentOperator, market: MarketDep, writer: WriterDep
) -> JSONResponse:
    """Withdraw an open listing (its seller only: 403 ``not_listing_seller``; 409
    ``listing_not_open`` once filled or cancelled)."""

    def operation() -> ListingCancelled:
        tx = market.cancel_listing(listing_id=listing_id)
        return ListingCancelled(
            listing_id=listing_id,
            tx_hash=tx.tx_hash,
            block_number=tx.block_number,
            gas_used=tx.gas_used,
        )

    return writer.run(scope=operator.id, body=None, operation=operation)


@router.post(
    "/{listing_id}/purchase", status_code=201, response_model=PurchaseView, responses=_WRITE_ERRORS
)
def purchase_listing(
    listing_id: ListingIdPath, operator: CurrentOperator, market: MarketDep, writer: WriterDep
) -> JSONResponse:
    """Buy a listing (any key): the caller's account pays exactly the listed price into escrow
    and a sale opens (``sale_id``; follow it at ``/sales/{sale_id}``). The item is locked until
    the sale ends.

    Refusals: 404 ``listing_not_found``; 409 ``listing_void`` (cancelled, filled, expired, the
    item moved...: see ``GET /listings/{id}``); 422 ``buyer_is_seller``. Send an
    ``Idempotency-Key`` to retry without buying twice."""

    def operation() -> PurchaseView:
        sale = market.buy(listing_id=listing_id)
        return PurchaseView(
            sale_id=sale.sale_id,
            price_wei=str(sale.price),
            listing_id=listing_id,
            tx_hash=sale.tx.tx_hash,
            block_number=sale.tx.block_number,
            gas_used=sale.tx.gas_used,
        )

    return writer.run(scope=operator.id, body=None, operation=operation, status_code=201)
