"""One router per resource, gathered in `api_router`."""

from fastapi import APIRouter

from api.routes import health, items, keys, merchants, pages, relay

__all__ = ["api_router"]

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(keys.router)
api_router.include_router(merchants.router)
api_router.include_router(items.router)
api_router.include_router(relay.router)
api_router.include_router(pages.router)
