// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    DisputeReason,
    Listing,
    ListingStatus,
    Ruling,
    Sale,
    SaleState,
    SellOrder,
    Settlement,
    VoidReason
} from "../types/MarketTypes.sol";

/// @title Resale market with escrow and disputes
/// @notice Owners sell their passported items for ETH. The buyer's payment is held in escrow and the item is
/// locked in the passport until the sale settles: the buyer confirms delivery, or the delivery window passes
/// (anyone may then finalize), or the seller never ships (the buyer takes a refund), or a dispute is ruled by
/// a vetted arbiter, or no arbiter rules in time (either party takes the default: a full refund). Nothing can
/// stay in escrow forever: every open state has a deadline and a way out after it.
///
/// Money only moves by pull payment: settlements credit the seller, the buyer and the treasury, who call
/// `withdraw`. The market's balance always equals the open escrow plus the unwithdrawn credits.
///
/// Who is who comes from the passport's vetting registry: the admin is the passport's admin, arbiters are its
/// active Arbiter accounts, and a seller vetted as Merchant may only sell while active.
///
/// Signed orders are EIP-712 under `{name: "Provenance Resale Market", version: "1", chainId,
/// verifyingContract: this}`; see `SellOrder` for the type.
interface IResaleMarket {
    // ---------------------------------------------------------------- events

    /// @notice The admin changed the platform fee. Sales already in escrow keep the fee they were bought at.
    event FeeChanged(uint16 previousFeeBps, uint16 feeBps, address indexed by);

    /// @notice The admin changed where fees are credited.
    event TreasuryChanged(address indexed previousTreasury, address indexed treasury, address indexed by);

    /// @notice An owner listed an item on chain.
    /// @param itemNonce The item's nonce at listing; the listing is void once it changes.
    event Listed(
        uint256 indexed listingId,
        bytes32 indexed itemId,
        address indexed seller,
        uint256 price,
        uint256 expiry,
        uint32 itemNonce
    );

    /// @notice The seller withdrew an on-chain listing.
    event ListingCancelled(uint256 indexed listingId, bytes32 indexed itemId, address indexed seller);

    /// @notice The seller cancelled one signed order.
    event OrderCancelled(bytes32 indexed orderHash, bytes32 indexed itemId, address indexed seller);

    /// @notice The seller cancelled all their signed orders: only orders signed with `counter` are valid now.
    event OrdersInvalidated(address indexed seller, uint256 counter);

    /// @notice A buyer paid for an item into escrow; the item is locked until the sale settles.
    /// @param listingId The on-chain listing bought, or 0 for a signed order.
    /// @param orderHash The signed order bought, or zero for an on-chain listing.
    /// @param feeBps The fee fixed for this sale.
    /// @param shipBy The seller must mark the item shipped by this timestamp.
    event Purchased(
        uint256 indexed saleId,
        bytes32 indexed itemId,
        address indexed buyer,
        address seller,
        uint256 price,
        uint16 feeBps,
        uint256 listingId,
        bytes32 orderHash,
        uint256 shipBy
    );

    /// @notice The seller shipped the item.
    /// @param shipmentRefHash Hash of the carrier and tracking reference.
    /// @param deliverBy The buyer must confirm or dispute by this timestamp; after it, anyone may finalize.
    event Shipped(
        uint256 indexed saleId,
        bytes32 indexed itemId,
        address indexed seller,
        bytes32 shipmentRefHash,
        uint256 deliverBy
    );

    /// @notice The buyer opened a dispute. Its opening evidence follows as `EvidenceSubmitted` (and ERC-1497
    /// `Dispute` and `Evidence`).
    /// @param ruleBy An arbiter must rule by this timestamp; after it, either party may take the default refund.
    event DisputeOpened(
        uint256 indexed saleId, bytes32 indexed itemId, address indexed buyer, DisputeReason reason, uint256 ruleBy
    );

    /// @notice A party to a dispute submitted evidence (also reported as ERC-1497 `Evidence`).
    /// @param evidenceURI Where the evidence can be fetched; may be empty.
    event EvidenceSubmitted(
        uint256 indexed saleId, bytes32 indexed itemId, address indexed party, bytes32 evidenceHash, string evidenceURI
    );

    /// @notice An arbiter ruled on a dispute.
    /// @param buyerShareBps For `PartialRefund`: the share of the price refunded to the buyer; else 0.
    /// @param counterfeit Whether the arbiter found the item counterfeit (then recorded on the passport).
    /// @param rulingHash Hash of the arbiter's reasoned decision.
    event DisputeRuled(
        uint256 indexed saleId,
        bytes32 indexed itemId,
        address indexed arbiter,
        Ruling ruling,
        uint16 buyerShareBps,
        bool counterfeit,
        bytes32 rulingHash
    );

    /// @notice A sale ended and its escrow was credited.
    /// @param by Who triggered the settlement.
    /// @param how What ended it.
    /// @param sellerAmount Credited to the seller.
    /// @param buyerAmount Credited (refunded) to the buyer.
    /// @param fee Credited to the treasury.
    event SaleSettled(
        uint256 indexed saleId,
        bytes32 indexed itemId,
        address indexed by,
        Settlement how,
        uint256 sellerAmount,
        uint256 buyerAmount,
        uint256 fee
    );

    /// @notice `account` withdrew its credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice ERC-1497: a dispute was created. The market is its own arbitrator (its arbiters rule); the
    /// dispute id and the evidence group id are both the sale id. No meta-evidence is published (id 0).
    event Dispute(
        address indexed _arbitrator, uint256 indexed _disputeID, uint256 _metaEvidenceID, uint256 _evidenceGroupID
    );

    /// @notice ERC-1497: evidence for the dispute of sale `_evidenceGroupID`. `_evidence` is the evidence URI
    /// when one was given, else the evidence hash as "0x"-prefixed hex.
    event Evidence(
        address indexed _arbitrator, uint256 indexed _evidenceGroupID, address indexed _party, string _evidence
    );

    // ---------------------------------------------------------------- errors

    /// @notice Only the platform admin (the passport's admin) may do this.
    error NotAdmin(address caller);
    /// @notice The fee exceeds the cap.
    error FeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    /// @notice The treasury cannot be the zero address or the market.
    error InvalidTreasury(address treasury);
    /// @notice A window must be between one second and `MAX_WINDOW`.
    error InvalidWindow(uint256 window);
    /// @notice A price must be non-zero and fit in 96 bits.
    error InvalidPrice(uint256 price);
    /// @notice An expiry must lie in the future (and before 2^40).
    error InvalidExpiry(uint256 expiry);
    /// @notice Only the item's owner may list it.
    error NotItemOwner(bytes32 itemId, address caller);
    /// @notice The item cannot be listed now.
    error CannotList(bytes32 itemId, VoidReason reason);
    /// @notice No listing has this id.
    error ListingNotFound(uint256 listingId);
    /// @notice Only the listing's seller may do this.
    error NotListingSeller(uint256 listingId, address caller);
    /// @notice The listing is already filled or cancelled.
    error ListingNotOpen(uint256 listingId, ListingStatus status);
    /// @notice The listing cannot be bought, for `reason`.
    error ListingVoid(uint256 listingId, VoidReason reason);
    /// @notice The signed order cannot be bought, for `reason`.
    error OrderVoid(bytes32 orderHash, VoidReason reason);
    /// @notice The signature is not `seller`'s for this order on this chain and market (or is malformed, or a
    /// high-s twin).
    error InvalidOrderSignature(bytes32 orderHash, address seller);
    /// @notice Only the order's seller may cancel it.
    error NotOrderSeller(bytes32 orderHash, address caller);
    /// @notice The signed order is already filled or cancelled.
    error OrderNotOpen(bytes32 orderHash, ListingStatus status);
    /// @notice A seller cannot buy their own item.
    error BuyerIsSeller(address buyer);
    /// @notice The payment must equal the price exactly.
    error WrongPayment(uint256 expected, uint256 sent);
    /// @notice No sale has this id.
    error SaleNotFound(uint256 saleId);
    /// @notice Only the sale's buyer may do this.
    error NotBuyer(uint256 saleId, address caller);
    /// @notice Only the sale's seller may do this.
    error NotSeller(uint256 saleId, address caller);
    /// @notice Only the sale's buyer or seller may do this.
    error NotParty(uint256 saleId, address caller);
    /// @notice An arbiter cannot rule on a sale they are party to.
    error ArbiterIsParty(uint256 saleId, address arbiter);
    /// @notice The sale is not in a state that allows this.
    error WrongSaleState(uint256 saleId, SaleState state);
    /// @notice The current step's deadline has passed.
    error DeadlinePassed(uint256 saleId, uint256 deadline);
    /// @notice The current step's deadline has not passed yet.
    error DeadlineNotReached(uint256 saleId, uint256 deadline);
    /// @notice A shipment reference, evidence or ruling hash is required.
    error MissingEvidence(uint256 saleId);
    /// @notice A dispute must state a reason.
    error MissingDisputeReason(uint256 saleId);
    /// @notice The ruling is inconsistent: `None`; a share outside 1..9999 bps for `PartialRefund` (or a share
    /// with another ruling); or a counterfeit finding with `Release`.
    error InvalidRuling(Ruling ruling, uint256 buyerShareBps, bool counterfeit);
    /// @notice The account has no credit to withdraw.
    error NothingToWithdraw(address account);
    /// @notice Sending the credit failed (the account rejects ETH); the credit is kept.
    error WithdrawalFailed(address account, uint256 amount);

    // ---------------------------------------------------------------- admin

    /// @notice Sets the platform fee for future purchases (at most `MAX_FEE_BPS`). Admin only.
    function setFee(uint16 newFeeBps) external;

    /// @notice Sets the account future fees are credited to. Admin only.
    function setTreasury(address newTreasury) external;

    // ---------------------------------------------------------------- listings

    /// @notice Lists an item the caller owns. The item must be active, not in escrow, not found counterfeit,
    /// and a seller vetted as Merchant must be active. No ERC-721 approval is needed: the market moves items
    /// through the passport's market hooks.
    /// @param price Price in wei (non-zero, below 2^96).
    /// @param expiry Last timestamp (inclusive) at which it can be bought.
    /// @return listingId The new listing's id (sequential from 1).
    function list(bytes32 itemId, uint256 price, uint256 expiry) external returns (uint256 listingId);

    /// @notice Withdraws an open listing. Its seller only.
    function cancelListing(uint256 listingId) external;

    /// @notice Cancels one signed order. Its seller only.
    function cancelOrder(SellOrder calldata order) external;

    /// @notice Cancels every order the caller has signed so far by moving their order counter on.
    /// @return counter The counter new orders must be signed with.
    function cancelAllOrders() external returns (uint256 counter);

    // ---------------------------------------------------------------- purchases

    /// @notice Buys an on-chain listing, paying exactly its price into escrow. Reverts `ListingVoid` when the
    /// listing cannot be bought (see `VoidReason`).
    /// @return saleId The new sale's id (sequential from 1).
    function buy(uint256 listingId) external payable returns (uint256 saleId);

    /// @notice Buys a signed order, paying exactly its price into escrow. Anyone may fill it; each order
    /// fills at most once.
    /// @param signature The seller's EIP-712 signature over `order` (ECDSA, or ERC-1271 for contract sellers).
    /// @return saleId The new sale's id.
    function buyOrder(SellOrder calldata order, bytes calldata signature) external payable returns (uint256 saleId);

    // ---------------------------------------------------------------- fulfilment

    /// @notice The seller reports the item shipped, before the shipping deadline. Starts the delivery window.
    /// @param shipmentRefHash Hash of the carrier and tracking reference.
    function markShipped(uint256 saleId, bytes32 shipmentRefHash) external;

    /// @notice The buyer confirms delivery (also ends a dispute in the seller's favour): the item goes to the
    /// buyer, the price less the fee to the seller, the fee to the treasury.
    function confirmDelivery(uint256 saleId) external;

    /// @notice After the delivery deadline, with neither confirmation nor dispute, anyone settles the sale as
    /// if the buyer had confirmed.
    function finalize(uint256 saleId) external;

    /// @notice Unwinds a sale that was never shipped: the buyer after the shipping deadline, or the seller at
    /// any time before shipping. The buyer is refunded in full; the item stays with the seller.
    function cancelUnshipped(uint256 saleId) external;

    // ---------------------------------------------------------------- disputes

    /// @notice The buyer disputes a shipped sale, before the delivery deadline. Starts the ruling window.
    /// @param evidenceHash Hash of the buyer's statement and evidence.
    /// @param evidenceURI Where it can be fetched; may be empty.
    function openDispute(uint256 saleId, DisputeReason reason, bytes32 evidenceHash, string calldata evidenceURI)
        external;

    /// @notice A party adds evidence to an open dispute, until the ruling deadline.
    function submitEvidence(uint256 saleId, bytes32 evidenceHash, string calldata evidenceURI) external;

    /// @notice An active arbiter who is not a party rules, before the ruling deadline. A counterfeit finding
    /// (not allowed with `Release`) records a `Counterfeit` verdict on the item's passport.
    /// @param buyerShareBps For `PartialRefund` only (1..9999): the share of the price refunded to the buyer.
    /// @param rulingHash Hash of the reasoned decision.
    function rule(uint256 saleId, Ruling ruling, uint16 buyerShareBps, bool counterfeit, bytes32 rulingHash)
        external;

    /// @notice After the ruling deadline with no ruling, either party settles the dispute with the default:
    /// a full refund to the buyer, the item stays with the seller.
    function executeDefault(uint256 saleId) external;

    // ---------------------------------------------------------------- payments

    /// @notice Sends the caller its whole credit.
    function withdraw() external;

    // ---------------------------------------------------------------- views

    /// @notice What `account` can withdraw.
    function credits(address account) external view returns (uint256);

    /// @notice A listing (all zero when unknown).
    function listingOf(uint256 listingId) external view returns (Listing memory);

    /// @notice A sale. Reverts `SaleNotFound` for unknown ids.
    function saleOf(uint256 saleId) external view returns (Sale memory);

    /// @notice Whether a signed order was filled or cancelled (`None` otherwise).
    function orderStatus(bytes32 orderHash) external view returns (ListingStatus);

    /// @notice The EIP-712 digest a seller signs for `order`; also its id.
    function hashOrder(SellOrder calldata order) external view returns (bytes32);

    /// @notice Why the listing cannot be bought now, or `None` when it can.
    function listingVoidReason(uint256 listingId) external view returns (VoidReason);

    /// @notice Why the signed order cannot be bought now, or `None` when it can (signature not checked).
    function orderVoidReason(SellOrder calldata order) external view returns (VoidReason);

    /// @notice The counter a seller's new orders must carry; `cancelAllOrders` moves it on.
    function nonces(address seller) external view returns (uint256);

    /// @notice The EIP-712 domain separator orders are signed under.
    // The conventional name (EIP-2612, ERC-4494), which wallets and SDKs look for.
    // slither-disable-next-line naming-convention
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice The item passport (and vetting registry) this market serves.
    function passport() external view returns (address);

    /// @notice Where fees are credited.
    function treasury() external view returns (address);

    /// @notice The fee new purchases pay, in basis points of the price.
    function feeBps() external view returns (uint16);

    /// @notice Seconds the seller has to ship after purchase.
    function shippingWindow() external view returns (uint256);

    /// @notice Seconds the buyer has to confirm or dispute after shipment.
    function deliveryWindow() external view returns (uint256);

    /// @notice Seconds arbiters have to rule after a dispute opens.
    function rulingWindow() external view returns (uint256);

    /// @notice Number of listings ever created (the highest id).
    function listingCount() external view returns (uint256);

    /// @notice Number of sales ever opened (the highest id).
    function saleCount() external view returns (uint256);
}
