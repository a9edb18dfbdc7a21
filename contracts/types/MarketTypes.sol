// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev Where a listing (or a signed order) stands. A signed order that was never filled nor cancelled is `None`.
enum ListingStatus {
    // No such listing; for a signed order: neither filled nor cancelled.
    None,
    // Can be bought while it is not void (see `VoidReason`).
    Open,
    // Bought; the sale it opened lives on in escrow.
    Filled,
    // Withdrawn by the seller (for signed orders also: the seller bumped their order counter).
    Cancelled
}

/// @dev Why a listing or signed order cannot be bought (or an item cannot be listed) right now.
enum VoidReason {
    // Not void: it can be bought.
    None,
    // The seller cancelled it (or, for a signed order, bumped their order counter).
    Cancelled,
    // It was already bought.
    Filled,
    // Its expiry has passed.
    Expired,
    // The item changed hands or used up a permit since listing: its owner or nonce differs.
    ItemMoved,
    // The item is reported lost or stolen.
    ItemFlagged,
    // The item is retired.
    ItemRetired,
    // The item is in escrow for another sale.
    ItemLocked,
    // The seller holds the Merchant role but is suspended or revoked.
    SellerNotActive,
    // The item's last recorded verdict is Counterfeit.
    Counterfeit
}

/// @dev Where an escrowed sale stands. The first three hold the price in escrow and the item locked; the
/// last three are final.
enum SaleState {
    // No such sale.
    None,
    // Paid into escrow; the seller must ship before the shipping deadline.
    Paid,
    // Shipped; the buyer confirms or disputes before the delivery deadline, after which anyone finalizes.
    Shipped,
    // Under dispute; an arbiter rules before the ruling deadline, after which either party takes the default
    // (full refund).
    Disputed,
    // Settled for the seller: the item went to the buyer, the price (less the fee) to the seller.
    Completed,
    // Refunded in full: the buyer got the price back, the item stayed with the seller.
    Refunded,
    // Settled by a partial-refund ruling: the item went to the buyer, the price was split.
    PartiallyRefunded
}

/// @dev What the buyer says went wrong.
enum DisputeReason {
    // No dispute (never valid when opening one).
    None,
    // The item never arrived.
    NotReceived,
    // The item differs from its listing (condition, parts, description).
    NotAsDescribed,
    // The item is believed to be counterfeit.
    Counterfeit,
    // Anything else; the evidence says what.
    Other
}

/// @dev An arbiter's decision.
enum Ruling {
    // No ruling (never valid).
    None,
    // Full refund to the buyer; the item stays with the seller.
    Refund,
    // The sale completes for the seller, as if the buyer had confirmed delivery.
    Release,
    // The item goes to the buyer and `buyerShareBps` of the price is refunded; the rest goes to the seller.
    PartialRefund
}

/// @dev How a sale ended, as reported by `SaleSettled`.
enum Settlement {
    // The buyer confirmed delivery.
    Confirmed,
    // The delivery window passed with neither confirmation nor dispute; someone finalized it.
    Finalized,
    // Nothing was shipped: the buyer cancelled after the shipping deadline, or the seller cancelled.
    CancelledUnshipped,
    // An arbiter ruled on the dispute.
    Ruled,
    // No arbiter ruled before the ruling deadline; a party took the default full refund.
    DefaultRefund
}

/// @dev An item offered on chain by its owner (`ResaleMarket.list`). Three storage slots.
struct Listing {
    // The item offered.
    bytes32 itemId;
    // Its owner when listed; must still own it at purchase.
    address seller;
    // Price in wei; the buyer pays exactly this.
    uint96 price;
    // Last timestamp (inclusive) at which it can be bought.
    uint40 expiry;
    // The item's nonce (transfer/permit count) when listed; any other nonce at purchase voids the listing.
    uint32 itemNonce;
    // Open, filled or cancelled.
    ListingStatus status;
}

/// @dev An owner's EIP-712 signed offer to sell, filled by any buyer with `ResaleMarket.buyOrder`. Signed type:
/// `SellOrder(bytes32 itemId,address seller,uint256 price,uint256 expiry,uint256 itemNonce,uint256 counter)`.
struct SellOrder {
    // The item offered.
    bytes32 itemId;
    // The owner who signed; must still own the item at purchase.
    address seller;
    // Price in wei; the buyer pays exactly this.
    uint256 price;
    // Last timestamp (inclusive) at which it can be bought.
    uint256 expiry;
    // The item's nonce (`ItemPassport.nonces(itemId)`) when signed; voids the order once the item moves.
    uint256 itemNonce;
    // The seller's order counter (`ResaleMarket.nonces(seller)`) when signed; bumping it cancels all orders.
    uint256 counter;
}

/// @dev An escrowed sale. Three storage slots.
struct Sale {
    // The item sold; locked in the passport while the sale is open.
    bytes32 itemId;
    // Who sells (the item's owner until the sale completes).
    address seller;
    // Price in wei, held in escrow until the sale settles.
    uint96 price;
    // Who paid.
    address buyer;
    // The platform fee in basis points, fixed at purchase so later fee changes never apply to this sale.
    uint16 feeBps;
    // Where the sale stands.
    SaleState state;
    // The buyer's reason, once a dispute is opened.
    DisputeReason disputeReason;
    // The deadline of the current step: ship-by (Paid), deliver-by (Shipped) or rule-by (Disputed).
    uint40 deadline;
}
