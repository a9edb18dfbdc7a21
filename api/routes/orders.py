"""``/orders``: signed sell orders, the market's gasless offers.

A seller (who may hold no ETH and no API key: a wallet is enough) signs a ``SellOrder`` off
chain with EIP-712 (``eth_signTypedData_v4``; see `ledger.signatures`); whoever buys it submits
the order and the signature and pays. Nothing is stored here: the order travels with the buyer.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CurrentOperator, MarketDep, MarketReaderDep, WriterDep
from api.routes._common import ACCEPTED, errors
from api.routing import GuardedRoute
from api.schemas.market import OrderCheckView, PurchaseView, SellOrderBody, SignedOrder
from api.views import hex32
from ledger.errors import InvalidOrderSignature
from ledger.signatures import sell_order_from_json, sell_order_signer
from ledger.types import SellOrder, VoidReason

__all__ = ["router"]

router = APIRouter(prefix="/orders", tags=["market"], route_class=GuardedRoute)

_WRITE_ERRORS = {**errors(401, 403, 404, 409, 502), **ACCEPTED}


def _order(body: SellOrderBody) -> SellOrder:
    return sell_order_from_json(body.model_dump())


@router.post("/check", response_model=OrderCheckView, responses=errors(404))
def check_order(body: SignedOrder, market: MarketReaderDep) -> OrderCheckView:
    """Whether a signed order can be bought now, without buying it (public): its id on chain
    (``order_hash``), whether it was filled or cancelled, why it is void (expired, the item
    moved, the seller cancelled all orders...), and whether the signature is the seller's for
    this chain and market. 404 ``item_not_registered`` for an item without a passport."""
    order = _order(body.order)
    signer = sell_order_signer(market.domain(), order, body.signature)
    reason = market.order_void_reason(order)
    valid = signer == order.seller
    return OrderCheckView(
        order_hash=hex32(market.order_hash(order)),
        status=market.order_status(order).name.lower(),
        void_reason=reason.name.lower(),
        signer=signer,
        signature_valid=valid,
        buyable=valid and reason is VoidReason.NONE,
    )


@router.post("/purchase", status_code=201, response_model=PurchaseView, responses=_WRITE_ERRORS)
def purchase_order(
    body: SignedOrder, operator: CurrentOperator, market: MarketDep, writer: WriterDep
) -> JSONResponse:
    """Buy a signed order (any key): the caller's account pays the order's price into escrow
    and a sale opens (follow it at ``/sales/{sale_id}``).

    Refusals: 403 ``invalid_order_signature`` (not the seller's signature for this chain and
    market); 409 ``order_void`` (filled, cancelled, expired, the item moved...); 422
    ``buyer_is_seller``."""
    order = _order(body.order)

    def operation() -> PurchaseView:
        # The contract's first check, made before the payment is simulated: a forged order is
        # refused as such, not as a buyer short of the (arbitrary) price it names. Sellers are
        # accounts with keys; a contract wallet's ERC-1271 signature would be refused here.
        order_hash = market.order_hash(order)
        if sell_order_signer(market.domain(), order, body.signature) != order.seller:
            raise InvalidOrderSignature(
                "InvalidOrderSignature", {"orderHash": order_hash, "seller": order.seller}
            )
        sale = market.buy_order(order=order, signature=body.signature)
        return PurchaseView(
            sale_id=sale.sale_id,
            price_wei=str(sale.price),
            order_hash=hex32(order_hash),
            tx_hash=sale.tx.tx_hash,
            block_number=sale.tx.block_number,
            gas_used=sale.tx.gas_used,
        )

    return writer.run(scope=operator.id, body=body, operation=operation, status_code=201)
