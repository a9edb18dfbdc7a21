"""``/keys``: issue, list and revoke API keys (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import AdminOperator, GatewayDep
from api.routes._common import errors
from api.routing import GuardedRoute
from api.schemas.keys import KeyCreate, KeyCreated, KeyList, KeyView
from ledger.keys import ApiKey

__all__ = ["router"]

router = APIRouter(prefix="/keys", tags=["keys"], route_class=GuardedRoute)

KeyIdPath = Annotated[str, Path(min_length=1, max_length=64, description="The key's id.")]


def _view(key: ApiKey) -> KeyView:
    return KeyView(
        id=key.id,
        role=key.role,
        name=key.name,
        address=key.address,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        active=key.active,
    )


@router.post("", status_code=201, response_model=KeyCreated, responses=errors(401, 403, 502))
def create_key(body: KeyCreate, gateway: GatewayDep, operator: AdminOperator) -> KeyCreated:
    """Issue a key; its secret is in this response only. Idempotency-Key is not honoured here:
    replaying would mean storing the secret."""
    provisioned = gateway.key_manager.create(role=body.role, name=body.name, address=body.address)
    return KeyCreated(
        **_view(provisioned.key).model_dump(),
        api_key=provisioned.secret,
        account_created=provisioned.account_created,
        funded_wei=provisioned.funded_wei,
        funding_tx_hash=provisioned.funding_tx_hash,
    )


@router.get("", response_model=KeyList, responses=errors(401, 403))
def list_keys(
    gateway: GatewayDep,
    operator: AdminOperator,
    include_revoked: Annotated[bool, Query()] = True,
) -> KeyList:
    keys = gateway.key_manager.list(include_revoked=include_revoked)
    return KeyList(keys=[_view(k) for k in keys])


@router.delete("/{key_id}", response_model=KeyView, responses=errors(401, 403, 404, 409))
def revoke_key(key_id: KeyIdPath, gateway: GatewayDep, operator: AdminOperator) -> KeyView:
    """Revoke a key; it is refused from the next request on. Revoking twice is harmless."""
    return _view(gateway.key_manager.revoke(key_id))
