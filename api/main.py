"""The gateway application: `create_app` builds it, `serve` runs it with uvicorn.

Start-up (the lifespan) connects to the chain, reuses or deploys the passport contract, opens
the key store and registers the bootstrap admin key; shut-down lets writes sent with
``?wait=false`` finish, then stops the anvil node it started (which saves its state).

A program that already holds a chain connection (``make run``, ``provenance serve``) passes it
in: the gateway then uses that node and deployment and leaves the connection open for its owner.

    uvicorn --factory api.main:create_app      # or: python scripts/serve.py
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import install_error_handlers
from api.routes import api_router
from api.routing import MAX_BODY_BYTES
from api.settings import Settings, get_settings
from api.state import Gateway
from ledger.chain import Connection
from ledger.config import Signer
from ledger.errors import ConfigurationError, LedgerError
from ledger.keys import ADMIN_KEY_FILE

__all__ = ["admin_key_hint", "create_app", "docs_url", "serve"]

log = logging.getLogger(__name__)

_DESCRIPTION = """
Provenance of second-hand goods: item passports on an Ethereum chain.

Authenticate with `Authorization: Bearer <api key>`. Writes return once mined; add `?wait=false`
to get `202` and a status URL instead, and an `Idempotency-Key` header to retry safely.
Every error is `{"error": {"code", "message", "field"}}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    connection: Connection | None = None,
    signer: Signer | None = None,
) -> FastAPI:
    """The FastAPI app for ``settings`` (default: from the environment, `get_settings`).

    ``connection``: use this chain connection instead of opening one (it is not closed when the
    app stops); ``signer``: the platform admin (default: chosen as by `ledger.config`).
    """
    config = settings if settings is not None else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            gateway = await run_in_threadpool(
                Gateway.open, config, connection=connection, signer=signer
            )
        except BaseException as exc:
            app.state.startup_error = exc  # for `serve`, which re-raises it
            raise
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
    app.state.startup_error = None
    install_error_handlers(app)
    # GET /items/batch would otherwise reach GET /items/{item_id} and be refused as a bad item
    # id (400); it is a method the path does not have (405, Allow: POST).
    app.add_api_route("/items/batch", _method_not_allowed, methods=["GET"], include_in_schema=False)
    app.include_router(api_router)
    return app


def _method_not_allowed() -> None:
    raise StarletteHTTPException(405)


def docs_url(settings: Settings) -> str:
    """Where the interactive API documentation is served."""
    return f"{settings.base_url}/docs"


def admin_key_hint(settings: Settings) -> str:
    """Where the bootstrap admin API key comes from (never the key itself)."""
    if settings.admin_api_key is not None:
        return "$PROVENANCE_ADMIN_API_KEY"
    return str((settings.data_dir / ADMIN_KEY_FILE).resolve())


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_ready`` once it listens (start-up done, gateway open)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit and self._on_ready is not None:
            self._on_ready()


def serve(
    settings: Settings | None = None,
    *,
    connection: Connection | None = None,
    signer: Signer | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run the gateway with uvicorn until SIGINT or SIGTERM, then shut it down cleanly.

    Returns once stopped. uvicorn handles the signal itself and, having shut down, raises it
    again for whatever handler was installed before; a KeyboardInterrupt from that is taken as
    the normal end. If the gateway cannot start, its `LedgerError` is raised (a port already in
    use is a `ConfigurationError`), rather than uvicorn's ``sys.exit``.
    """
    config = settings if settings is not None else get_settings()
    app = create_app(config, connection=connection, signer=signer)
    server = _Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="info"), on_ready
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:
        if server.started:
            raise
        error = app.state.startup_error
        if isinstance(error, LedgerError):
            raise error from None
        raise ConfigurationError(
            f"the gateway did not start on {config.host}:{config.port} (see the log above)"
        ) from exc
