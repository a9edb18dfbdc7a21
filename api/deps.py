"""Dependencies, as ``Annotated`` aliases: the gateway state, the caller, their client, writes.

Authentication: ``Authorization: Bearer <api key>``. The key is looked up (by hash) on every
request, so a revoked key is refused at once. A route states the roles it accepts with
`require_roles`; the chain then checks everything else (vetting, ownership), and since the
caller's client signs with the caller's own account only, a key can never act as another account.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.settings import Settings
from api.state import Gateway
from api.writes import Writer
from ledger.client import ProvenanceClient
from ledger.keys import ApiKey, KeyRole
from ledger.market import MarketClient

__all__ = [
    "AdminOperator",
    "ArbiterOperator",
    "AuthenticatorOperator",
    "ClientDep",
    "CurrentOperator",
    "GatewayDep",
    "ItemOperator",
    "MarketDep",
    "MarketReaderDep",
    "MerchantOperator",
    "ReaderDep",
    "SettingsDep",
    "WriterDep",
    "require_roles",
]

_bearer = HTTPBearer(auto_error=False, description="An API key from POST /keys (or admin.key).")


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def get_app_settings(gateway: GatewayDep) -> Settings:
    return gateway.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_reader(gateway: GatewayDep) -> ProvenanceClient:
    return gateway.reader


ReaderDep = Annotated[ProvenanceClient, Depends(get_reader)]
"""A read-only client (public reads need no key)."""


def get_operator(
    gateway: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ApiError(
            401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'",
            headers=challenge,
        )  # fmt: skip
    key = gateway.keys.authenticate(credentials.credentials)
    if key is None:
        raise ApiError(401, "unauthorized", "the API key is unknown or revoked", headers=challenge)
    return key


CurrentOperator = Annotated[ApiKey, Depends(get_operator)]


def require_roles(*roles: KeyRole) -> Callable[[ApiKey], ApiKey]:
    """A dependency admitting keys of ``roles`` only (403 ``forbidden`` otherwise)."""
    allowed = frozenset(roles)
    names = " or ".join(r.value for r in roles)

    def dependency(operator: CurrentOperator) -> ApiKey:
        if operator.role not in allowed:
            raise ApiError(
                403, "forbidden", f"this needs a {names} key; this key's role is {operator.role}"
            )
        return operator

    return dependency


AdminOperator = Annotated[ApiKey, Depends(require_roles(KeyRole.ADMIN))]
MerchantOperator = Annotated[ApiKey, Depends(require_roles(KeyRole.MERCHANT, KeyRole.BRAND))]
AuthenticatorOperator = Annotated[ApiKey, Depends(require_roles(KeyRole.AUTHENTICATOR))]
ArbiterOperator = Annotated[ApiKey, Depends(require_roles(KeyRole.ARBITER))]
"""Dispute rulings; the chain also requires the account to be a vetted, active arbiter."""
ItemOperator = Annotated[
    ApiKey, Depends(require_roles(KeyRole.ADMIN, KeyRole.MERCHANT, KeyRole.BRAND))
]
"""Flags and retirement: the admin, or a merchant/brand acting on items it owns."""


def get_client(gateway: GatewayDep, operator: CurrentOperator) -> ProvenanceClient:
    """The client signing as the caller's own account (one per account, shared)."""
    return gateway.client_for(operator.address)


ClientDep = Annotated[ProvenanceClient, Depends(get_client)]


def get_market(gateway: GatewayDep, operator: CurrentOperator) -> MarketClient:
    """The resale market, signing as the caller's account with the same transaction sender as
    its `ProvenanceClient` (so their nonces never collide). A deployment without a market is
    `ConfigurationError` (503)."""
    return gateway.market_for(operator.address)


MarketDep = Annotated[MarketClient, Depends(get_market)]


def get_market_reader(gateway: GatewayDep) -> MarketClient:
    """A read-only market client (public reads need no key)."""
    return gateway.market_for(None)


MarketReaderDep = Annotated[MarketClient, Depends(get_market_reader)]


def get_writer(
    request: Request,
    gateway: GatewayDep,
    wait: Annotated[
        bool,
        Query(description="false: answer 202 once sent, with a status URL, instead of mined."),
    ] = True,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Retrying with the same key returns the first response.",
        ),
    ] = None,
) -> Writer:
    return Writer(gateway=gateway, request=request, wait=wait, idempotency_key=idempotency_key)


WriterDep = Annotated[Writer, Depends(get_writer)]
