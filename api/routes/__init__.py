"""One router per resource, gathered in `api_router`."""

from fastapi import APIRouter

from api.routes import (
    disputes,
    health,
    items,
    keys,
    listings,
    market,
    merchants,
    orders,
    pages,
    relay,
    sales,
)

__all__ = ["api_router"]

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(keys.router)
api_router.include_router(merchants.router)
api_router.include_router(items.router)
api_router.include_router(relay.router)
api_router.include_router(market.router)
api_router.include_router(listings.router)
api_router.include_router(orders.router)
api_router.include_router(sales.router)
api_router.include_router(disputes.router)
api_router.include_router(pages.router)
