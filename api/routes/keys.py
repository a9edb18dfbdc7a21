"""``/keys``: issue, list and revoke API keys (admin only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from eth_typing import ChecksumAddress
from fastapi import APIRouter, Path, Query

from api.deps import AdminOperator, GatewayDep
from api.routes._common import errors
from api.routing import GuardedRoute
from api.schemas.keys import KeyCreate, KeyCreated, KeyList, KeyView
from ledger.keys import ApiKey, provision_api_key

__all__ = ["router"]

router = APIRouter(prefix="/keys", tags=["keys"], route_class=GuardedRoute)

KeyIdPath = Annotated[str, Path(min_length=1, max_length=64, description="The key's id.")]


@dataclass
class _Funding:
    wei: int = 0
    tx_hash: str | None = None


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


@router.post("", status_code=201, response_model=KeyCreated, responses=errors(401, 403))
def create_key(body: KeyCreate, gateway: GatewayDep, operator: AdminOperator) -> KeyCreated:
    """Issue a key; its secret is in this response only. Idempotency-Key is not honoured here:
    replaying would mean storing the secret."""
    funding = _Funding()

    def fund(address: ChecksumAddress) -> None:
        # Before the key exists: a key whose account cannot pay for gas is not issued.
        if gateway.faucet is not None:
            funding.wei, tx = gateway.faucet.top_up(address)
            funding.tx_hash = tx.tx_hash if tx is not None else None

    provisioned = provision_api_key(
        keys=gateway.keys,
        keyring=gateway.keyring,
        role=body.role,
        name=body.name,
        admin=gateway.admin.address,
        address=body.address,
        before_issue=fund,
    )
    return KeyCreated(
        **_view(provisioned.key).model_dump(),
        api_key=provisioned.secret,
        account_created=provisioned.account_created,
        funded_wei=funding.wei,
        funding_tx_hash=funding.tx_hash,
    )


@router.get("", response_model=KeyList, responses=errors(401, 403))
def list_keys(
    gateway: GatewayDep,
    operator: AdminOperator,
    include_revoked: Annotated[bool, Query()] = True,
) -> KeyList:
    return KeyList(keys=[_view(k) for k in gateway.keys.list(include_revoked=include_revoked)])


@router.delete("/{key_id}", response_model=KeyView, responses=errors(401, 403, 404, 409))
def revoke_key(key_id: KeyIdPath, gateway: GatewayDep, operator: AdminOperator) -> KeyView:
    """Revoke a key; it is refused from the next request on. Revoking twice is harmless."""
    return _view(gateway.keys.revoke(key_id))
