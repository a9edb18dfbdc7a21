// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {LibString} from "solady/src/utils/LibString.sol";

import {IResaleMarket} from "./interfaces/IResaleMarket.sol";
import {ItemPassport} from "./ItemPassport.sol";
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
} from "./types/MarketTypes.sol";
import {AccountStatus, Item, ItemStatus, Role, Verdict} from "./types/ProvenanceTypes.sol";

/// @title ResaleMarket
/// @notice Escrowed resale of passported items, with disputes ruled by the registry's arbiters.
/// @dev Trust: the passport (and its admin) is trusted; buyers, sellers and arbiters are not. The only calls
/// out are to the passport (which makes no calls back: the market moves items with a plain, not a safe,
/// transfer) and the ETH sent by `withdraw`, which is the last step of a `nonReentrant` function. Every function
/// that opens, advances or settles a sale is `nonReentrant` too, so a contract receiving its credit cannot
/// re-enter any of them (listing, cancelling and the admin setters touch no escrow and make no payment).
/// Items settle with `saleRef = bytes32(saleId)` in the passport's `SaleRecorded`.
/// The guard is OpenZeppelin's storage-slot `ReentrancyGuard`, not the transient one: Slither 0.11 cannot
/// build IR for `TransientSlot` (so it would not see the guard at all); the transient guard would save about
/// 1,900 gas per guarded call.
contract ResaleMarket is IResaleMarket, EIP712, Nonces, ReentrancyGuard {
    /// @notice The highest fee the admin can set: 10%.
    uint16 public constant MAX_FEE_BPS = 1000;
    /// @notice The longest shipping, delivery or ruling window.
    uint256 public constant MAX_WINDOW = 365 days;

    uint256 private constant _BPS = 10_000;
    uint8 private constant _MERCHANT_ROLE = uint8(1 << uint8(Role.Merchant));
    uint8 private constant _ARBITER_ROLE = uint8(1 << uint8(Role.Arbiter));
    bytes32 private constant _SELL_ORDER_TYPEHASH = keccak256(
        "SellOrder(bytes32 itemId,address seller,uint256 price,uint256 expiry,uint256 itemNonce,uint256 counter)"
    );

    ItemPassport private immutable _passport;
    uint256 private immutable _shippingWindow;
    uint256 private immutable _deliveryWindow;
    uint256 private immutable _rulingWindow;

    // One slot: a purchase reads the fee and bumps the sale count with a single cold access.
    address private _treasury;
    uint16 private _feeBps;
    uint40 private _listingCount;
    uint40 private _saleCount;

    mapping(uint256 listingId => Listing listing) private _listings;
    mapping(bytes32 orderHash => ListingStatus status) private _orderStatus;
    mapping(uint256 saleId => Sale sale) private _sales;
    mapping(address account => uint256 amount) private _credits;

    /// @param passport_ The item passport and vetting registry; its admin administers the market.
    /// @param treasury_ Where fees are credited.
    /// @param feeBps_ The fee, in basis points of the price (at most `MAX_FEE_BPS`).
    /// @param deliveryWindow_ Seconds the buyer has to confirm or dispute after shipment.
    /// @param shippingWindow_ Seconds the seller has to ship after purchase.
    /// @param rulingWindow_ Seconds arbiters have to rule after a dispute opens.
    constructor(
        ItemPassport passport_,
        address treasury_,
        uint16 feeBps_,
        uint256 deliveryWindow_,
        uint256 shippingWindow_,
        uint256 rulingWindow_
    ) EIP712("Provenance Resale Market", "1") {
        _requireValidTreasury(treasury_);
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        _requireValidWindow(deliveryWindow_);
        _requireValidWindow(shippingWindow_);
        _requireValidWindow(rulingWindow_);
        _passport = passport_;
        // Checked by `_requireValidTreasury` above (zero and the market itself are refused).
        // slither-disable-next-line missing-zero-check
        _treasury = treasury_;
        _feeBps = feeBps_;
        _deliveryWindow = deliveryWindow_;
        _shippingWindow = shippingWindow_;
        _rulingWindow = rulingWindow_;
    }

    modifier onlyAdmin() {
        if (!_passport.isAdmin(msg.sender)) revert NotAdmin(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IResaleMarket
    function setFee(uint16 newFeeBps) external onlyAdmin {
        if (newFeeBps > MAX_FEE_BPS) revert FeeTooHigh(newFeeBps, MAX_FEE_BPS);
        uint16 previous = _feeBps;
        _feeBps = newFeeBps;
        emit FeeChanged(previous, newFeeBps, msg.sender);
    }

    /// @inheritdoc IResaleMarket
    function setTreasury(address newTreasury) external onlyAdmin {
        _requireValidTreasury(newTreasury);
        address previous = _treasury;
        // Checked by `_requireValidTreasury` above.
        // slither-disable-next-line missing-zero-check
        _treasury = newTreasury;
        emit TreasuryChanged(previous, newTreasury, msg.sender);
    }

    // ---------------------------------------------------------------- listings

    /// @inheritdoc IResaleMarket
    function list(bytes32 itemId, uint256 price, uint256 expiry) external returns (uint256 listingId) {
        if (price == 0 || price > type(uint96).max) revert InvalidPrice(price);
        // Expiries are block times by definition; a validator's few seconds of skew cannot matter here.
        // slither-disable-next-line timestamp
        if (expiry <= block.timestamp || expiry > type(uint40).max) revert InvalidExpiry(expiry);
        Item memory item = _passport.itemOf(itemId);
        if (item.owner != msg.sender) revert NotItemOwner(itemId, msg.sender);
        VoidReason reason = _itemVoidReason(item, msg.sender, item.transferNonce);
        if (reason != VoidReason.None) revert CannotList(itemId, reason);

        listingId = ++_listingCount;
        _listings[listingId] = Listing({
            itemId: itemId,
            seller: msg.sender,
            price: uint96(price),
            expiry: uint40(expiry),
            itemNonce: item.transferNonce,
            status: ListingStatus.Open
        });
        emit Listed(listingId, itemId, msg.sender, price, expiry, item.transferNonce);
    }

    /// @inheritdoc IResaleMarket
    function cancelListing(uint256 listingId) external {
        Listing storage listing = _listingAt(listingId);
        if (msg.sender != listing.seller) revert NotListingSeller(listingId, msg.sender);
        if (listing.status != ListingStatus.Open) revert ListingNotOpen(listingId, listing.status);
        listing.status = ListingStatus.Cancelled;
        emit ListingCancelled(listingId, listing.itemId, msg.sender);
    }

    /// @inheritdoc IResaleMarket
    function cancelOrder(SellOrder calldata order) external {
        bytes32 orderHash = _hashOrder(order);
        if (msg.sender != order.seller) revert NotOrderSeller(orderHash, msg.sender);
        ListingStatus status = _orderStatus[orderHash];
        if (status != ListingStatus.None) revert OrderNotOpen(orderHash, status);
        _orderStatus[orderHash] = ListingStatus.Cancelled;
        emit OrderCancelled(orderHash, order.itemId, msg.sender);
    }

    /// @inheritdoc IResaleMarket
    function cancelAllOrders() external returns (uint256 counter) {
        counter = _useNonce(msg.sender) + 1;
        emit OrdersInvalidated(msg.sender, counter);
    }

    // ---------------------------------------------------------------- purchases

    /// @inheritdoc IResaleMarket
    function buy(uint256 listingId) external payable nonReentrant returns (uint256 saleId) {
        Listing storage listing = _listingAt(listingId);
        VoidReason reason = _listingVoidReason(listing);
        if (reason != VoidReason.None) revert ListingVoid(listingId, reason);
        listing.status = ListingStatus.Filled;
        saleId = _openSale(listing.itemId, listing.seller, listing.price, listingId, bytes32(0));
    }

    /// @inheritdoc IResaleMarket
    function buyOrder(SellOrder calldata order, bytes calldata signature)
        external
        payable
        nonReentrant
        returns (uint256 saleId)
    {
        bytes32 orderHash = _hashOrder(order);
        if (!SignatureChecker.isValidSignatureNowCalldata(order.seller, orderHash, signature)) {
            revert InvalidOrderSignature(orderHash, order.seller);
        }
        if (order.price == 0 || order.price > type(uint96).max) revert InvalidPrice(order.price);
        VoidReason reason = _orderVoidReason(order, orderHash);
        if (reason != VoidReason.None) revert OrderVoid(orderHash, reason);
        _orderStatus[orderHash] = ListingStatus.Filled;
        saleId = _openSale(order.itemId, order.seller, order.price, 0, orderHash);
    }

    // ---------------------------------------------------------------- fulfilment

    /// @inheritdoc IResaleMarket
    function markShipped(uint256 saleId, bytes32 shipmentRefHash) external nonReentrant {
        Sale storage sale = _saleAt(saleId);
        if (msg.sender != sale.seller) revert NotSeller(saleId, msg.sender);
        _requireState(saleId, sale, SaleState.Paid);
        _requireBeforeDeadline(saleId, sale);
        if (shipmentRefHash == bytes32(0)) revert MissingEvidence(saleId);
        uint256 deliverBy = block.timestamp + _deliveryWindow;
        sale.state = SaleState.Shipped;
        sale.deadline = uint40(deliverBy);
        emit Shipped(saleId, sale.itemId, msg.sender, shipmentRefHash, deliverBy);
    }

    /// @inheritdoc IResaleMarket
    function confirmDelivery(uint256 saleId) external nonReentrant {
        Sale storage sale = _saleAt(saleId);
        if (msg.sender != sale.buyer) revert NotBuyer(saleId, msg.sender);
        SaleState state = sale.state;
        if (state != SaleState.Paid && state != SaleState.Shipped && state != SaleState.Disputed) {
            revert WrongSaleState(saleId, state);
        }
        _settle(saleId, sale, Settlement.Confirmed, SaleState.Completed, 0);
        _deliver(saleId, sale);
    }

    /// @inheritdoc IResaleMarket
    function finalize(uint256 saleId) external nonReentrant {
        Sale storage sale = _saleAt(saleId);
        _requireState(saleId, sale, SaleState.Shipped);
        _requireAfterDeadline(saleId, sale);
        _settle(saleId, sale, Settlement.Finalized, SaleState.Completed, 0);
        _deliver(saleId, sale);
    }

    /// @inheritdoc IResaleMarket
    function cancelUnshipped(uint256 saleId) external nonReentrant {
        Sale storage sale = _saleAt(saleId);
        bool bySeller = msg.sender == sale.seller;
        if (!bySeller && msg.sender != sale.buyer) revert NotParty(saleId, msg.sender);
        _requireState(saleId, sale, SaleState.Paid);
        // The seller may give up at any time; the buyer only once the seller has missed the shipping deadline.
        if (!bySeller) _requireAfterDeadline(saleId, sale);
        _settle(saleId, sale, Settlement.CancelledUnshipped, SaleState.Refunded, sale.price);
        _passport.unlock(sale.itemId);
    }

    // ---------------------------------------------------------------- disputes

    /// @inheritdoc IResaleMarket
    function openDispute(uint256 saleId, DisputeReason reason, bytes32 evidenceHash, string calldata evidenceURI)
        external
        nonReentrant
    {
        Sale storage sale = _saleAt(saleId);
        if (msg.sender != sale.buyer) revert NotBuyer(saleId, msg.sender);
        _requireState(saleId, sale, SaleState.Shipped);
        _requireBeforeDeadline(saleId, sale);
        if (reason == DisputeReason.None) revert MissingDisputeReason(saleId);
        if (evidenceHash == bytes32(0)) revert MissingEvidence(saleId);
        uint256 ruleBy = block.timestamp + _rulingWindow;
        sale.state = SaleState.Disputed;
        sale.disputeReason = reason;
        sale.deadline = uint40(ruleBy);
        emit DisputeOpened(saleId, sale.itemId, msg.sender, reason, ruleBy);
        emit Dispute(address(this), saleId, 0, saleId);
        _emitEvidence(saleId, sale.itemId, evidenceHash, evidenceURI);
    }

    /// @inheritdoc IResaleMarket
    function submitEvidence(uint256 saleId, bytes32 evidenceHash, string calldata evidenceURI)
        external
        nonReentrant
    {
        Sale storage sale = _saleAt(saleId);
        if (msg.sender != sale.buyer && msg.sender != sale.seller) revert NotParty(saleId, msg.sender);
        _requireState(saleId, sale, SaleState.Disputed);
        _requireBeforeDeadline(saleId, sale);
        if (evidenceHash == bytes32(0)) revert MissingEvidence(saleId);
        _emitEvidence(saleId, sale.itemId, evidenceHash, evidenceURI);
    }

    /// @inheritdoc IResaleMarket
    function rule(uint256 saleId, Ruling ruling, uint16 buyerShareBps, bool counterfeit, bytes32 rulingHash)
        external
        nonReentrant
    {
        Sale storage sale = _saleAt(saleId);
        // Called for its revert (the registry's AccountLacksRole / AccountNotActive); the id and roles it
        // returns are not needed.
        // slither-disable-next-line unused-return
        _passport.requireActive(msg.sender, _ARBITER_ROLE);
        if (msg.sender == sale.buyer || msg.sender == sale.seller) revert ArbiterIsParty(saleId, msg.sender);
        _requireState(saleId, sale, SaleState.Disputed);
        _requireBeforeDeadline(saleId, sale);
        bool isPartial = ruling == Ruling.PartialRefund;
        if (
            ruling == Ruling.None || (isPartial != (buyerShareBps != 0)) || buyerShareBps >= _BPS
                || (counterfeit && ruling == Ruling.Release)
        ) revert InvalidRuling(ruling, buyerShareBps, counterfeit);
        if (rulingHash == bytes32(0)) revert MissingEvidence(saleId);

        bytes32 itemId = sale.itemId;
        if (ruling == Ruling.Refund) {
            _settle(saleId, sale, Settlement.Ruled, SaleState.Refunded, sale.price);
        } else {
            uint256 buyerAmount = uint256(sale.price) * buyerShareBps / _BPS;
            SaleState outcome = isPartial ? SaleState.PartiallyRefunded : SaleState.Completed;
            _settle(saleId, sale, Settlement.Ruled, outcome, buyerAmount);
        }
        emit DisputeRuled(saleId, itemId, msg.sender, ruling, buyerShareBps, counterfeit, rulingHash);

        if (counterfeit) _passport.recordRuling(itemId, Verdict.Counterfeit, rulingHash);
        if (ruling == Ruling.Refund) _passport.unlock(itemId);
        else _deliver(saleId, sale);
    }

    /// @inheritdoc IResaleMarket
    function executeDefault(uint256 saleId) external nonReentrant {
        Sale storage sale = _saleAt(saleId);
        if (msg.sender != sale.buyer && msg.sender != sale.seller) revert NotParty(saleId, msg.sender);
        _requireState(saleId, sale, SaleState.Disputed);
        _requireAfterDeadline(saleId, sale);
        _settle(saleId, sale, Settlement.DefaultRefund, SaleState.Refunded, sale.price);
        _passport.unlock(sale.itemId);
    }

    // ---------------------------------------------------------------- payments

    /// @inheritdoc IResaleMarket
    function withdraw() external nonReentrant {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        // All gas is forwarded so that smart wallets can receive; nonReentrant and the zeroed credit make a
        // re-entering receiver harmless.
        // slither-disable-next-line low-level-calls
        (bool sent,) = payable(msg.sender).call{value: amount}("");
        if (!sent) revert WithdrawalFailed(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IResaleMarket
    function credits(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @inheritdoc IResaleMarket
    function listingOf(uint256 listingId) external view returns (Listing memory) {
        return _listings[listingId];
    }

    /// @inheritdoc IResaleMarket
    function saleOf(uint256 saleId) external view returns (Sale memory) {
        return _saleAt(saleId);
    }

    /// @inheritdoc IResaleMarket
    function orderStatus(bytes32 orderHash) external view returns (ListingStatus) {
        return _orderStatus[orderHash];
    }

    /// @inheritdoc IResaleMarket
    function hashOrder(SellOrder calldata order) external view returns (bytes32) {
        return _hashOrder(order);
    }

    /// @inheritdoc IResaleMarket
    function listingVoidReason(uint256 listingId) external view returns (VoidReason) {
        return _listingVoidReason(_listingAt(listingId));
    }

    /// @inheritdoc IResaleMarket
    function orderVoidReason(SellOrder calldata order) external view returns (VoidReason) {
        return _orderVoidReason(order, _hashOrder(order));
    }

    /// @inheritdoc IResaleMarket
    function nonces(address seller) public view override(IResaleMarket, Nonces) returns (uint256) {
        return super.nonces(seller);
    }

    /// @inheritdoc IResaleMarket
    // The conventional name (EIP-2612, ERC-4494), which wallets and SDKs look for.
    // slither-disable-next-line naming-convention
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IResaleMarket
    function passport() external view returns (address) {
        return address(_passport);
    }

    /// @inheritdoc IResaleMarket
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IResaleMarket
    function feeBps() external view returns (uint16) {
        return _feeBps;
    }

    /// @inheritdoc IResaleMarket
    function shippingWindow() external view returns (uint256) {
        return _shippingWindow;
    }

    /// @inheritdoc IResaleMarket
    function deliveryWindow() external view returns (uint256) {
        return _deliveryWindow;
    }

    /// @inheritdoc IResaleMarket
    function rulingWindow() external view returns (uint256) {
        return _rulingWindow;
    }

    /// @inheritdoc IResaleMarket
    function listingCount() external view returns (uint256) {
        return _listingCount;
    }

    /// @inheritdoc IResaleMarket
    function saleCount() external view returns (uint256) {
        return _saleCount;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Escrows the payment and locks the item. The caller has marked the listing or order filled.
    function _openSale(bytes32 itemId, address seller, uint256 price, uint256 listingId, bytes32 orderHash)
        private
        returns (uint256 saleId)
    {
        if (msg.sender == seller) revert BuyerIsSeller(msg.sender);
        if (msg.value != price) revert WrongPayment(price, msg.value);
        uint16 saleFeeBps = _feeBps;
        uint256 shipBy = block.timestamp + _shippingWindow;
        saleId = ++_saleCount;
        _sales[saleId] = Sale({
            itemId: itemId,
            seller: seller,
            price: uint96(price),
            buyer: msg.sender,
            feeBps: saleFeeBps,
            state: SaleState.Paid,
            disputeReason: DisputeReason.None,
            deadline: uint40(shipBy)
        });
        emit Purchased(saleId, itemId, msg.sender, seller, price, saleFeeBps, listingId, orderHash, shipBy);
        _passport.lock(itemId);
    }

    /// @dev Ends a sale: fixes its final state and credits the escrowed price. `buyerAmount` is refunded to the
    /// buyer; the rest goes to the seller less the sale's fee (taken only on what the seller receives).
    function _settle(uint256 saleId, Sale storage sale, Settlement how, SaleState outcome, uint256 buyerAmount)
        private
    {
        uint256 toSeller = uint256(sale.price) - buyerAmount;
        uint256 fee = toSeller * sale.feeBps / _BPS;
        toSeller -= fee;
        sale.state = outcome;
        if (toSeller != 0) _credits[sale.seller] += toSeller;
        if (buyerAmount != 0) _credits[sale.buyer] += buyerAmount;
        if (fee != 0) _credits[_treasury] += fee;
        emit SaleSettled(saleId, sale.itemId, msg.sender, how, toSeller, buyerAmount, fee);
    }

    /// @dev Hands the item to the buyer, ending the lock (the passport records `saleRef = saleId`).
    function _deliver(uint256 saleId, Sale storage sale) private {
        _passport.marketTransfer(sale.seller, sale.buyer, sale.itemId, bytes32(saleId));
    }

    function _emitEvidence(uint256 saleId, bytes32 itemId, bytes32 evidenceHash, string calldata evidenceURI)
        private
    {
        emit EvidenceSubmitted(saleId, itemId, msg.sender, evidenceHash, evidenceURI);
        string memory evidence =
            bytes(evidenceURI).length != 0 ? evidenceURI : LibString.toHexString(uint256(evidenceHash), 32);
        emit Evidence(address(this), saleId, msg.sender, evidence);
    }

    function _listingVoidReason(Listing storage listing) private view returns (VoidReason) {
        ListingStatus status = listing.status;
        if (status == ListingStatus.Cancelled) return VoidReason.Cancelled;
        if (status == ListingStatus.Filled) return VoidReason.Filled;
        // An expiry is a block time by definition (see `_requireBeforeDeadline` on skew).
        // slither-disable-next-line timestamp
        if (block.timestamp > listing.expiry) return VoidReason.Expired;
        return _itemVoidReason(_passport.itemOf(listing.itemId), listing.seller, listing.itemNonce);
    }

    function _orderVoidReason(SellOrder calldata order, bytes32 orderHash) private view returns (VoidReason) {
        ListingStatus status = _orderStatus[orderHash];
        if (status == ListingStatus.Cancelled) return VoidReason.Cancelled;
        if (status == ListingStatus.Filled) return VoidReason.Filled;
        if (order.counter != nonces(order.seller)) return VoidReason.Cancelled;
        // An expiry is a block time by definition (see `_requireBeforeDeadline` on skew).
        // slither-disable-next-line timestamp
        if (block.timestamp > order.expiry) return VoidReason.Expired;
        if (order.itemNonce > type(uint32).max) return VoidReason.ItemMoved;
        return _itemVoidReason(_passport.itemOf(order.itemId), order.seller, uint32(order.itemNonce));
    }

    /// @dev Why `seller` cannot sell `item` now, given the item nonce it was offered at.
    function _itemVoidReason(Item memory item, address seller, uint32 itemNonce) private view returns (VoidReason) {
        if (item.status == ItemStatus.Retired) return VoidReason.ItemRetired;
        if (item.status != ItemStatus.Active) return VoidReason.ItemFlagged;
        if (item.owner != seller || item.transferNonce != itemNonce) return VoidReason.ItemMoved;
        if (item.locked) return VoidReason.ItemLocked;
        if (item.lastVerdict == Verdict.Counterfeit) return VoidReason.Counterfeit;
        // Only the roles and the status matter here, not the registry id.
        // slither-disable-next-line unused-return
        (, uint8 roles, AccountStatus standing) = _passport.standingOf(seller);
        if (roles & _MERCHANT_ROLE != 0 && standing != AccountStatus.Active) return VoidReason.SellerNotActive;
        return VoidReason.None;
    }

    function _hashOrder(SellOrder calldata order) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    _SELL_ORDER_TYPEHASH,
                    order.itemId,
                    order.seller,
                    order.price,
                    order.expiry,
                    order.itemNonce,
                    order.counter
                )
            )
        );
    }

    function _listingAt(uint256 listingId) private view returns (Listing storage listing) {
        listing = _listings[listingId];
        if (listing.status == ListingStatus.None) revert ListingNotFound(listingId);
    }

    function _saleAt(uint256 saleId) private view returns (Sale storage sale) {
        sale = _sales[saleId];
        if (sale.state == SaleState.None) revert SaleNotFound(saleId);
    }

    function _requireState(uint256 saleId, Sale storage sale, SaleState expected) private view {
        SaleState state = sale.state;
        if (state != expected) revert WrongSaleState(saleId, state);
    }

    /// @dev Deadlines are inclusive: a step is allowed up to and including its deadline's second. Windows are
    /// days long, so a validator's few seconds of timestamp skew cannot matter (hence the `timestamp`
    /// suppressions on these comparisons).
    function _requireBeforeDeadline(uint256 saleId, Sale storage sale) private view {
        uint256 deadline = sale.deadline;
        // slither-disable-next-line timestamp
        if (block.timestamp > deadline) revert DeadlinePassed(saleId, deadline);
    }

    function _requireAfterDeadline(uint256 saleId, Sale storage sale) private view {
        uint256 deadline = sale.deadline;
        // slither-disable-next-line timestamp
        if (block.timestamp <= deadline) revert DeadlineNotReached(saleId, deadline);
    }

    function _requireValidTreasury(address account) private view {
        if (account == address(0) || account == address(this)) revert InvalidTreasury(account);
    }

    function _requireValidWindow(uint256 window) private pure {
        if (window == 0 || window > MAX_WINDOW) revert InvalidWindow(window);
    }
}
