"""The gateway application: `create_app` builds it, `serve` runs it with uvicorn.

Start-up (the lifespan) connects to the chain, reuses or deploys the passport contract, opens
the key store and registers the bootstrap admin key; shut-down lets writes sent with
``?wait=false`` finish, then stops the anvil node it started (which saves its state).

    uvicorn --factory api.main:create_app      # or: python scripts/serve.py
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.routes import api_router
from api.routing import MAX_BODY_BYTES
from api.settings import Settings, get_settings
from api.state import Gateway

__all__ = ["create_app", "serve"]

log = logging.getLogger(__name__)

_DESCRIPTION = """
Provenance of second-hand goods: item passports on an Ethereum chain.

Authenticate with `Authorization: Bearer <api key>`. Writes return once mined; add `?wait=false`
to get `202` and a status URL instead, and an `Idempotency-Key` header to retry safely.
Every error is `{"error": {"code", "message", "field"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app for ``settings`` (default: from the environment, `get_settings`)."""
    config = settings if settings is not None else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = await run_in_threadpool(Gateway.open, config)
        app.state.gateway = gateway
        try:
            yield
        finally:
            await run_in_threadpool(gateway.close)

    app = FastAPI(
        title="provenance-ledger gateway",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.settings = config
    install_error_handlers(app)
    app.include_router(api_router)
    return app


def serve(settings: Settings | None = None) -> None:
    """Run the gateway with uvicorn until interrupted (SIGINT/SIGTERM stop it cleanly)."""
    config = settings if settings is not None else get_settings()
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info")
