// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    ConditionGrade, Item, ItemStatus, RetirementKind, ServiceKind, Verdict
} from "../types/ProvenanceTypes.sol";
import {IERC4494} from "./IERC4494.sol";

/// @title Item passports
/// @notice One ERC-721 token per physical item. The token id is the item id:
/// `keccak256(abi.encode(normalisedBrand, normalisedSerial))`, computed off chain from the label, so serial
/// numbers never appear on chain in clear. Storage holds only what the contract enforces (owner, status,
/// registrant, flags); every fact about the item is an event, so its whole history can be rebuilt from logs.
///
/// Signatures (ERC-4494 `permit`, `transferBySig`) are EIP-712 under the domain
/// `{name: "Provenance Item Passport", version: "1", chainId, verifyingContract: this}` and use the item's
/// own nonce (`nonces(tokenId)`), which moves on every transfer and every permit.
interface IItemPassport is IERC4494 {
    /// @notice An item received its passport.
    /// @param itemId The item id (also the ERC-721 token id).
    /// @param registrant The vetted merchant or brand that registered it.
    /// @param metadataHash keccak256 of the RFC 8785 canonical JSON of the item's metadata.
    /// @param brandCertified True when the registrant is a brand: a brand-certified original.
    event ItemRegistered(
        bytes32 indexed itemId, address indexed registrant, bytes32 metadataHash, bool brandCertified
    );

    /// @notice A metadata document was published for an item, at registration or later.
    /// @param itemId The item.
    /// @param by Who published it.
    /// @param metadataHash keccak256 of its RFC 8785 canonical JSON; the newest one is current.
    /// @param metadataURI Where the document can be fetched; may be empty.
    event MetadataUpdated(bytes32 indexed itemId, address indexed by, bytes32 metadataHash, string metadataURI);

    /// @notice A new passport continues a retired one (remanufacture, reuse as a new product).
    event ItemSucceeded(bytes32 indexed predecessorId, bytes32 indexed successorId, address indexed by);

    /// @notice An authenticator inspected the item.
    event ItemAuthenticated(
        bytes32 indexed itemId,
        address indexed authenticator,
        Verdict verdict,
        ConditionGrade grade,
        bytes32 evidenceHash
    );

    /// @notice A merchant or brand serviced the item.
    event ItemServiced(bytes32 indexed itemId, address indexed by, ServiceKind kind, bytes32 evidenceHash);

    /// @notice The item was reported lost or stolen; it cannot move until the flag is cleared.
    event ItemFlagged(bytes32 indexed itemId, address indexed by, ItemStatus status, bytes32 reportHash);

    /// @notice A lost or stolen flag was cleared.
    event FlagCleared(bytes32 indexed itemId, address indexed by, ItemStatus previous, bytes32 clearanceHash);

    /// @notice The item reached the end of its life; the passport can never move again.
    event ItemRetired(bytes32 indexed itemId, address indexed by, RetirementKind kind, bytes32 evidenceHash);

    /// @notice A transfer carried the hash of an off-chain order (for sales settled in fiat).
    event SaleRecorded(bytes32 indexed itemId, address indexed from, address indexed to, bytes32 saleRef);

    /// @notice The admin changed the base of `tokenURI`.
    event BaseURIChanged(string baseURI, address indexed by);

    /// @notice The admin named the resale market: the one contract that may lock items in escrow. The
    /// previous market, if any, may from now on only settle the sales it holds. The zero address means no market.
    event MarketChanged(address indexed previousMarket, address indexed market, address indexed by);

    /// @notice The resale market took the item into escrow: no one else can move, flag or retire it now.
    event ItemLocked(bytes32 indexed itemId, address indexed market);

    /// @notice The resale market released the item from escrow (sale refunded, cancelled or settled).
    event ItemUnlocked(bytes32 indexed itemId, address indexed market);

    /// @notice The item id is already taken: the same physical item cannot be registered twice.
    error ItemAlreadyRegistered(bytes32 itemId);
    /// @notice No passport exists for this item id.
    error ItemNotRegistered(bytes32 itemId);
    /// @notice The item is reported lost or stolen.
    error ItemIsFlagged(bytes32 itemId, ItemStatus status);
    /// @notice The item is retired; its passport refuses every change.
    error ItemIsRetired(bytes32 itemId);
    /// @notice The item is held by the resale market (escrow or dispute).
    error ItemIsLocked(bytes32 itemId);
    /// @notice There is no lost or stolen flag to clear.
    error ItemNotFlagged(bytes32 itemId);
    /// @notice The flag was raised by the admin, so only the admin may clear it.
    error FlagHeldByAdmin(bytes32 itemId);
    /// @notice Only the item's owner may do this.
    error NotItemOwner(bytes32 itemId, address caller);
    /// @notice Only the item's owner or the platform admin may do this.
    error NotOwnerNorAdmin(bytes32 itemId, address caller);
    /// @notice Only the item's owner or its registrant may do this.
    error NotOwnerNorRegistrant(bytes32 itemId, address caller);
    /// @notice Only the platform admin may do this.
    error NotAdmin(address caller);
    /// @notice A flag must be `Lost` or `Stolen`.
    error InvalidFlag(ItemStatus status);
    /// @notice An authentication must state a verdict.
    error MissingVerdict(bytes32 itemId);
    /// @notice A hash of the metadata, report or evidence is required.
    error MissingHash(bytes32 itemId);
    /// @notice The item id is zero.
    error InvalidItemId();
    /// @notice A batch must contain at least one item.
    error EmptyBatch();
    /// @notice The batch arrays differ in length (`uris` may also be empty).
    error BatchLengthMismatch(uint256 itemIds, uint256 metadataHashes, uint256 uris);
    /// @notice A successor can only follow a retired item.
    error PredecessorNotRetired(bytes32 predecessorId);
    /// @notice Only the resale market may do this (for settling: the current market or a former one).
    error NotMarket(address caller);
    /// @notice The item is not held by the resale market.
    error ItemNotLocked(bytes32 itemId);
    /// @notice The signed permit or transfer expired at `deadline`.
    error SignatureExpired(uint256 deadline);
    /// @notice The signature is not `signer`'s for this item, nonce, chain and contract (or is malformed,
    /// or a high-s twin).
    error InvalidSignature(bytes32 itemId, address signer);

    /// @notice Registers one item. Caller: an active merchant or brand (brand registrations are certified).
    /// @param itemId The item id computed from the label.
    /// @param metadataHash keccak256 of the canonical metadata JSON.
    /// @param metadataURI Optional location of the metadata document.
    /// @param owner The initial owner of the passport.
    function register(bytes32 itemId, bytes32 metadataHash, string calldata metadataURI, address owner) external;

    /// @notice Registers many items to one owner in one transaction; how marketplaces take in stock.
    /// The batch is atomic: a single duplicate reverts it with `ItemAlreadyRegistered(itemId)` naming the
    /// duplicate, so the caller can drop it and resubmit.
    /// @param metadataURIs Either empty, or one (possibly empty) URI per item.
    function registerBatch(
        address owner,
        bytes32[] calldata itemIds,
        bytes32[] calldata metadataHashes,
        string[] calldata metadataURIs
    ) external;

    /// @notice Registers a new product made from a retired item, linking the two passports.
    function registerSuccessor(
        bytes32 predecessorId,
        bytes32 itemId,
        bytes32 metadataHash,
        string calldata metadataURI,
        address owner
    ) external;

    /// @notice Publishes a new metadata document (condition change, new photos); earlier hashes stay in the
    /// history. Caller: an active merchant or brand that owns or registered the item.
    function updateMetadata(bytes32 itemId, bytes32 metadataHash, string calldata metadataURI) external;

    /// @notice Records an authentication or inspection. Caller: an active authenticator.
    function authenticate(bytes32 itemId, Verdict verdict, ConditionGrade grade, bytes32 evidenceHash) external;

    /// @notice Records a repair, refurbishment or part replacement. Caller: an active merchant or brand.
    function recordService(bytes32 itemId, ServiceKind kind, bytes32 evidenceHash) external;

    /// @notice Reports the item lost or stolen, which freezes it. Caller: the owner or the platform admin.
    function flag(bytes32 itemId, ItemStatus status, bytes32 reportHash) external;

    /// @notice Clears a lost or stolen flag. Caller: the admin, or the owner when the owner raised it.
    function clearFlag(bytes32 itemId, bytes32 clearanceHash) external;

    /// @notice Ends the item's life. Caller: the owner or the platform admin.
    function retire(bytes32 itemId, RetirementKind kind, bytes32 evidenceHash) external;

    /// @notice An ERC-721 transfer that also records the hash of the off-chain order it settles.
    /// Caller: the owner or an approved operator.
    function transferWithReference(address from, address to, bytes32 itemId, bytes32 saleRef) external;

    /// @notice Moves the item on the strength of its owner's EIP-712 signature; anyone may submit it (a
    /// relayer pays the gas). Signed type:
    /// `Transfer(address from,address to,bytes32 itemId,bytes32 saleRef,uint256 nonce,uint256 deadline)`.
    /// @dev The nonce is the item's own (`nonces(uint256(itemId))`), not a per-owner counter: it moves on
    /// every transfer, so a signature can be used once, dies when the item moves by any other means, and
    /// stays dead if the item ever comes back to the signer. Costs no extra storage. To cancel a signature
    /// before its deadline, the owner transfers the item to themselves (or uses a permit).
    /// @param from The owner who signed.
    /// @param to The new owner.
    /// @param itemId The item.
    /// @param saleRef Hash of the off-chain order, as in `transferWithReference`.
    /// @param deadline Last timestamp (inclusive) at which the signature may be used.
    /// @param signature `from`'s 65-byte ECDSA signature, or an ERC-1271 signature when `from` is a contract.
    function transferBySig(
        address from,
        address to,
        bytes32 itemId,
        bytes32 saleRef,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Sets the prefix of `tokenURI` (the item id in 0x-hex is appended). Admin only.
    function setBaseURI(string calldata baseURI) external;

    /// @notice Names the resale market (zero: none). Admin only.
    /// @dev The previous market becomes a former market: it can no longer `lock` (open sales), but it can
    /// still `unlock`, `marketTransfer` and `recordRuling`, so the sales it holds in escrow settle as usual.
    /// Naming a former market again makes it current (and no longer former).
    function setMarket(address newMarket) external;

    /// @notice Takes an active, unlocked item into escrow. Current market only.
    function lock(bytes32 itemId) external;

    /// @notice Releases an item from escrow; it stays with its owner. Current or former market only.
    function unlock(bytes32 itemId) external;

    /// @notice Settles an escrowed sale: releases the lock and moves the item from `from` (the owner) to `to`,
    /// recording `saleRef` like `transferWithReference`. Current or former market only.
    function marketTransfer(address from, address to, bytes32 itemId, bytes32 saleRef) external;

    /// @notice Records a dispute ruling's finding about the item (a counterfeit ruling makes the item's last
    /// verdict `Counterfeit`), emitted as `ItemAuthenticated` by the market. Current or former market only.
    /// @param evidenceHash Hash of the ruling's reasons; the market's `DisputeRuled` event names the arbiter.
    function recordRuling(bytes32 itemId, Verdict verdict, bytes32 evidenceHash) external;

    /// @notice The resale market, or the zero address.
    function market() external view returns (address);

    /// @notice Whether `account` is a market the admin replaced, which may still settle the sales it holds.
    function isFormerMarket(address account) external view returns (bool);

    /// @notice The current state of an item. Reverts with `ItemNotRegistered` for unknown ids.
    function itemOf(bytes32 itemId) external view returns (Item memory);

    /// @notice For each id, whether it is registered; lets importers skip what already exists in one call.
    function areRegistered(bytes32[] calldata itemIds) external view returns (bool[] memory);
}
