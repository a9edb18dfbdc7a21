// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ERC721} from "solady/src/tokens/ERC721.sol";
import {LibString} from "solady/src/utils/LibString.sol";

import {IERC4494} from "./interfaces/IERC4494.sol";
import {IItemPassport} from "./interfaces/IItemPassport.sol";
import {VettingRegistry} from "./VettingRegistry.sol";
import {PackedItem} from "./libraries/PackedItem.sol";
import {
    ConditionGrade,
    Item,
    ItemStatus,
    RetirementKind,
    Role,
    ServiceKind,
    Verdict
} from "./types/ProvenanceTypes.sol";

/// @title ItemPassport
/// @notice ERC-721 passports for physical items, and the vetting registry that says who may write them.
/// Built on Solady's ERC721 because its ownership slot carries 96 spare bits: the item's status, registrant
/// and permit nonce ride there, so registering an item costs one new storage slot and a transfer touches no
/// extra cold one (see `PackedItem`).
/// The resale market named by the admin holds items in escrow through the packed `locked` bit.
contract ItemPassport is IItemPassport, VettingRegistry, ERC721, EIP712 {
    using PackedItem for uint96;

    uint8 private constant _REGISTRANT_ROLES = uint8(1 << uint8(Role.Merchant)) | uint8(1 << uint8(Role.Brand));
    uint8 private constant _BRAND_ROLE = uint8(1 << uint8(Role.Brand));
    uint8 private constant _AUTHENTICATOR_ROLE = uint8(1 << uint8(Role.Authenticator));

    bytes32 private constant _PERMIT_TYPEHASH =
        keccak256("Permit(address spender,uint256 tokenId,uint256 nonce,uint256 deadline)");
    bytes32 private constant _TRANSFER_TYPEHASH = keccak256(
        "Transfer(address from,address to,bytes32 itemId,bytes32 saleRef,uint256 nonce,uint256 deadline)"
    );

    string private _baseTokenURI;
    address private _market;
    /// @dev Markets the admin has replaced: each may still settle the sales it holds, never open one.
    mapping(address market => bool) private _formerMarkets;

    /// @param initialAdmin The platform admin.
    /// @param adminTransferDelay Seconds a pending admin hand-over must wait before it can be accepted.
    /// @param baseTokenURI Prefix of `tokenURI`; the gateway's item URL.
    constructor(address initialAdmin, uint48 adminTransferDelay, string memory baseTokenURI)
        VettingRegistry(initialAdmin, adminTransferDelay)
        EIP712("Provenance Item Passport", "1")
    {
        _baseTokenURI = baseTokenURI;
    }

    /// @dev Only the market named by the admin.
    modifier onlyMarket() {
        if (msg.sender != _market) revert NotMarket(msg.sender);
        _;
    }

    /// @dev The market named by the admin, or one it replaced, so that escrow held when the admin switched
    /// markets can still settle. Safe without knowing which market locked an item: a locked item cannot be
    /// locked again, and a market only releases or moves the items of its own open sales. The current
    /// market is checked first, so the usual path reads no extra slot.
    modifier onlySettlingMarket() {
        if (msg.sender != _market && !_formerMarkets[msg.sender]) revert NotMarket(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- registration

    /// @inheritdoc IItemPassport
    function register(bytes32 itemId, bytes32 metadataHash, string calldata metadataURI, address owner) external {
        (uint96 initialState, bool certified) = _registrantState();
        _register(itemId, metadataHash, owner, initialState, certified);
        _publishURI(itemId, metadataHash, metadataURI);
    }

    /// @inheritdoc IItemPassport
    function registerBatch(
        address owner,
        bytes32[] calldata itemIds,
        bytes32[] calldata metadataHashes,
        string[] calldata metadataURIs
    ) external {
        uint256 count = itemIds.length;
        if (count == 0) revert EmptyBatch();
        bool withURIs = metadataURIs.length != 0;
        if (metadataHashes.length != count || (withURIs && metadataURIs.length != count)) {
            revert BatchLengthMismatch(count, metadataHashes.length, metadataURIs.length);
        }
        (uint96 initialState, bool certified) = _registrantState();
        for (uint256 i; i < count; ++i) {
            _register(itemIds[i], metadataHashes[i], owner, initialState, certified);
            if (withURIs) _publishURI(itemIds[i], metadataHashes[i], metadataURIs[i]);
        }
    }

    /// @inheritdoc IItemPassport
    function registerSuccessor(
        bytes32 predecessorId,
        bytes32 itemId,
        bytes32 metadataHash,
        string calldata metadataURI,
        address owner
    ) external {
        (uint96 initialState, bool certified) = _registrantState();
        if (_loadItem(predecessorId).status() != ItemStatus.Retired) revert PredecessorNotRetired(predecessorId);
        _register(itemId, metadataHash, owner, initialState, certified);
        _publishURI(itemId, metadataHash, metadataURI);
        emit ItemSucceeded(predecessorId, itemId, msg.sender);
    }

    // ---------------------------------------------------------------- records

    /// @inheritdoc IItemPassport
    function updateMetadata(bytes32 itemId, bytes32 metadataHash, string calldata metadataURI) external {
        if (metadataHash == bytes32(0)) revert MissingHash(itemId);
        (uint32 callerId,) = _requireActive(msg.sender, _REGISTRANT_ROLES);
        uint96 state = _loadLiveItem(itemId);
        if (msg.sender != _ownerOf(uint256(itemId)) && callerId != state.registrantId()) {
            revert NotOwnerNorRegistrant(itemId, msg.sender);
        }
        emit MetadataUpdated(itemId, msg.sender, metadataHash, metadataURI);
    }

    /// @inheritdoc IItemPassport
    function authenticate(bytes32 itemId, Verdict verdict, ConditionGrade grade, bytes32 evidenceHash) external {
        if (verdict == Verdict.None) revert MissingVerdict(itemId);
        if (evidenceHash == bytes32(0)) revert MissingHash(itemId);
        _requireActive(msg.sender, _AUTHENTICATOR_ROLE);
        uint96 state = _loadLiveItem(itemId);
        _writeItem(itemId, state.withLastVerdict(verdict));
        emit ItemAuthenticated(itemId, msg.sender, verdict, grade, evidenceHash);
    }

    /// @inheritdoc IItemPassport
    function recordService(bytes32 itemId, ServiceKind kind, bytes32 evidenceHash) external {
        if (evidenceHash == bytes32(0)) revert MissingHash(itemId);
        _requireActive(msg.sender, _REGISTRANT_ROLES);
        _loadLiveItem(itemId);
        emit ItemServiced(itemId, msg.sender, kind, evidenceHash);
    }

    // ---------------------------------------------------------------- lost / stolen, retirement

    /// @inheritdoc IItemPassport
    function flag(bytes32 itemId, ItemStatus status, bytes32 reportHash) external {
        if (status != ItemStatus.Lost && status != ItemStatus.Stolen) revert InvalidFlag(status);
        if (reportHash == bytes32(0)) revert MissingHash(itemId);
        uint96 state = _loadLiveItem(itemId);
        bool byAdmin = _isOwnerOrAdmin(itemId);
        ItemStatus current = state.status();
        if (current != ItemStatus.Active) revert ItemIsFlagged(itemId, current);
        if (state.locked()) revert ItemIsLocked(itemId);
        _writeItem(itemId, state.withStatus(status).withFlaggedByAdmin(byAdmin));
        emit ItemFlagged(itemId, msg.sender, status, reportHash);
    }

    /// @inheritdoc IItemPassport
    function clearFlag(bytes32 itemId, bytes32 clearanceHash) external {
        if (clearanceHash == bytes32(0)) revert MissingHash(itemId);
        uint96 state = _loadLiveItem(itemId);
        bool byAdmin = _isOwnerOrAdmin(itemId);
        ItemStatus current = state.status();
        if (current == ItemStatus.Active) revert ItemNotFlagged(itemId);
        if (state.flaggedByAdmin() && !byAdmin) revert FlagHeldByAdmin(itemId);
        _writeItem(itemId, state.withStatus(ItemStatus.Active).withFlaggedByAdmin(false));
        emit FlagCleared(itemId, msg.sender, current, clearanceHash);
    }

    /// @inheritdoc IItemPassport
    function retire(bytes32 itemId, RetirementKind kind, bytes32 evidenceHash) external {
        if (evidenceHash == bytes32(0)) revert MissingHash(itemId);
        uint96 state = _loadLiveItem(itemId);
        bool byAdmin = _isOwnerOrAdmin(itemId);
        // Retiring ends a flag too, so an admin-raised one binds here as in `clearFlag`: otherwise the owner
        // could retire a stolen item out of its flag and free it for a successor passport.
        if (state.flaggedByAdmin() && !byAdmin) revert FlagHeldByAdmin(itemId);
        if (state.locked()) revert ItemIsLocked(itemId);
        _writeItem(itemId, state.withStatus(ItemStatus.Retired).withFlaggedByAdmin(false));
        emit ItemRetired(itemId, msg.sender, kind, evidenceHash);
    }

    // ---------------------------------------------------------------- transfers

    /// @inheritdoc IItemPassport
    function transferWithReference(address from, address to, bytes32 itemId, bytes32 saleRef) external {
        _transfer(msg.sender, from, to, uint256(itemId));
        emit SaleRecorded(itemId, from, to, saleRef);
    }

    /// @inheritdoc IItemPassport
    function transferBySig(
        address from,
        address to,
        bytes32 itemId,
        bytes32 saleRef,
        uint256 deadline,
        bytes calldata signature
    ) external {
        // A deadline is a block time by definition; a few seconds of validator skew cannot matter.
        // slither-disable-next-line timestamp
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        uint96 state = _loadItem(itemId);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(_TRANSFER_TYPEHASH, from, to, itemId, saleRef, state.transferNonce(), deadline))
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(from, digest, signature)) {
            revert InvalidSignature(itemId, from);
        }
        // The transfer hook moves the nonce on, which is what makes the signature single-use. `by` is zero
        // because the authority is the signature; the hook still refuses frozen items and a `from` that is not
        // the owner is refused by the transfer itself.
        _transfer(address(0), from, to, uint256(itemId));
        emit SaleRecorded(itemId, from, to, saleRef);
    }

    /// @dev Every transfer (plain, safe, or with a sale reference) passes here: frozen items stay put, and the
    /// permit nonce moves on so a signature made for the previous owner dies with the transfer.
    function _beforeTokenTransfer(address from, address, uint256 tokenId) internal override {
        if (from == address(0)) return; // a mint; `_register` wrote the state
        bytes32 itemId = bytes32(tokenId);
        uint96 state = _getExtraData(tokenId);
        _requireMovable(itemId, state);
        _writeItem(itemId, state.withNextTransferNonce());
    }

    /// @dev Granting an approval on a flagged or retired item is refused with `ItemIsFlagged`/`ItemIsRetired`:
    /// it could never be used (transfers are refused) and would mislead a buyer shown it. Revoking (approving
    /// the zero address) always works. `setApprovalForAll` is operator-wide, so it stays as ERC-721 has it.
    function approve(address account, uint256 id) public payable override {
        // Checked before ownership: an item's status is public anyway. An unregistered id: `ItemNotRegistered`.
        if (account != address(0)) {
            ItemStatus status = _loadLiveItem(bytes32(id)).status();
            if (status != ItemStatus.Active) revert ItemIsFlagged(bytes32(id), status);
        }
        super.approve(account, id);
    }

    // ---------------------------------------------------------------- ERC-4494 permits

    /// @inheritdoc IERC4494
    /// @dev The permit uses up the item's nonce (as Uniswap v3 positions do), so it works once: otherwise
    /// anyone could replay it to restore an approval the owner has since revoked. The nonce is also the one
    /// the resale market snapshots, so a permit voids the item's open listings, which the owner re-lists.
    function permit(address spender, uint256 tokenId, uint256 deadline, bytes calldata sig) external {
        // A deadline is a block time by definition; a few seconds of validator skew cannot matter.
        // slither-disable-next-line timestamp
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        bytes32 itemId = bytes32(tokenId);
        uint96 state = _loadLiveItem(itemId);
        // As `approve`: a flagged item gets no new approval (a zero spender only revokes).
        if (spender != address(0) && state.status() != ItemStatus.Active) {
            revert ItemIsFlagged(itemId, state.status());
        }
        address owner = _ownerOf(tokenId);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(_PERMIT_TYPEHASH, spender, tokenId, state.transferNonce(), deadline))
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(owner, digest, sig)) revert InvalidSignature(itemId, owner);
        _writeItem(itemId, state.withNextTransferNonce());
        _approve(spender, tokenId);
    }

    /// @inheritdoc IERC4494
    function nonces(uint256 tokenId) external view returns (uint256) {
        return _loadItem(bytes32(tokenId)).transferNonce();
    }

    /// @inheritdoc IERC4494
    // The name is fixed by ERC-4494 (and EIP-2612 before it).
    // slither-disable-next-line naming-convention
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- resale market hooks

    /// @inheritdoc IItemPassport
    function lock(bytes32 itemId) external onlyMarket {
        uint96 state = _loadItem(itemId);
        _requireMovable(itemId, state);
        _writeItem(itemId, state.withLocked(true));
        emit ItemLocked(itemId, msg.sender);
    }

    /// @inheritdoc IItemPassport
    function unlock(bytes32 itemId) external onlySettlingMarket {
        _writeItem(itemId, _loadLockedItem(itemId).withLocked(false));
        emit ItemUnlocked(itemId, msg.sender);
    }

    /// @inheritdoc IItemPassport
    function marketTransfer(address from, address to, bytes32 itemId, bytes32 saleRef)
        external
        onlySettlingMarket
    {
        // Unlock first so that the one transfer path (and its hook: status check, nonce) applies unchanged.
        _writeItem(itemId, _loadLockedItem(itemId).withLocked(false));
        emit ItemUnlocked(itemId, msg.sender);
        // Not a safe transfer: no call into the buyer while the market settles.
        _transfer(address(0), from, to, uint256(itemId));
        emit SaleRecorded(itemId, from, to, saleRef);
    }

    /// @inheritdoc IItemPassport
    function recordRuling(bytes32 itemId, Verdict verdict, bytes32 evidenceHash)
        external
        onlySettlingMarket
    {
        if (verdict == Verdict.None) revert MissingVerdict(itemId);
        if (evidenceHash == bytes32(0)) revert MissingHash(itemId);
        uint96 state = _loadLiveItem(itemId);
        _writeItem(itemId, state.withLastVerdict(verdict));
        emit ItemAuthenticated(itemId, msg.sender, verdict, ConditionGrade.Ungraded, evidenceHash);
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IItemPassport
    function setMarket(address newMarket) external {
        if (!_isAdmin(msg.sender)) revert NotAdmin(msg.sender);
        address previous = _market;
        // The zero address is allowed on purpose: it switches the market hooks off.
        // slither-disable-next-line missing-zero-check
        _market = newMarket;
        // The replaced market keeps settling the sales it holds (its `lock` is refused from now on), and a
        // market named again is simply current: the current market is never also a former one.
        if (previous != newMarket && previous != address(0)) _formerMarkets[previous] = true;
        delete _formerMarkets[newMarket];
        emit MarketChanged(previous, newMarket, msg.sender);
    }

    /// @inheritdoc IItemPassport
    function setBaseURI(string calldata baseURI) external {
        if (!_isAdmin(msg.sender)) revert NotAdmin(msg.sender);
        _baseTokenURI = baseURI;
        emit BaseURIChanged(baseURI, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IItemPassport
    function market() external view returns (address) {
        return _market;
    }

    /// @inheritdoc IItemPassport
    function isFormerMarket(address account) external view returns (bool) {
        return _formerMarkets[account];
    }

    /// @inheritdoc IItemPassport
    function itemOf(bytes32 itemId) external view returns (Item memory item) {
        uint96 state = _loadItem(itemId);
        uint32 registrantId = state.registrantId();
        item = Item({
            owner: _ownerOf(uint256(itemId)),
            status: state.status(),
            brandCertified: state.brandCertified(),
            flaggedByAdmin: state.flaggedByAdmin(),
            locked: state.locked(),
            lastVerdict: state.lastVerdict(),
            registrant: _accountAddress(registrantId),
            registrantId: registrantId,
            transferNonce: state.transferNonce()
        });
    }

    /// @inheritdoc IItemPassport
    function areRegistered(bytes32[] calldata itemIds) external view returns (bool[] memory registered) {
        registered = new bool[](itemIds.length);
        for (uint256 i; i < itemIds.length; ++i) {
            registered[i] = _exists(uint256(itemIds[i]));
        }
    }

    /// @dev Both parents implement ERC-165; the passport answers for either, and for ERC-4494 permits.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControlDefaultAdminRules, ERC721)
        returns (bool)
    {
        return ERC721.supportsInterface(interfaceId) || interfaceId == type(IERC4494).interfaceId
            || AccessControlDefaultAdminRules.supportsInterface(interfaceId);
    }

    function name() public pure override returns (string memory) {
        return "Provenance Item Passport";
    }

    function symbol() public pure override returns (string memory) {
        return "PASSPORT";
    }

    /// @dev Metadata changes live in events, so the URI points at a resolver (the gateway) keyed by item id.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        if (!_exists(tokenId)) revert ItemNotRegistered(bytes32(tokenId));
        return string.concat(_baseTokenURI, LibString.toHexString(tokenId, 32));
    }

    // ---------------------------------------------------------------- internals

    function _registrantState() private view returns (uint96 initialState, bool certified) {
        (uint32 id, uint8 roles) = _requireActive(msg.sender, _REGISTRANT_ROLES);
        certified = roles & _BRAND_ROLE != 0;
        initialState = PackedItem.initial(id, certified);
    }

    function _register(bytes32 itemId, bytes32 metadataHash, address owner, uint96 initialState, bool certified)
        private
    {
        if (itemId == bytes32(0)) revert InvalidItemId();
        if (metadataHash == bytes32(0)) revert MissingHash(itemId);
        if (_exists(uint256(itemId))) revert ItemAlreadyRegistered(itemId);
        _mintAndSetExtraDataUnchecked(owner, uint256(itemId), initialState);
        emit ItemRegistered(itemId, msg.sender, metadataHash, certified);
    }

    /// @dev A URI is optional, and most stock has none, so its event is only paid for when there is one.
    function _publishURI(bytes32 itemId, bytes32 metadataHash, string calldata metadataURI) private {
        if (bytes(metadataURI).length != 0) emit MetadataUpdated(itemId, msg.sender, metadataHash, metadataURI);
    }

    /// @dev The one place an item's packed state is written, after the caller has checked the transition.
    function _writeItem(bytes32 itemId, uint96 state) private {
        _setExtraData(uint256(itemId), state);
    }

    function _loadItem(bytes32 itemId) private view returns (uint96) {
        if (!_exists(uint256(itemId))) revert ItemNotRegistered(itemId);
        return _getExtraData(uint256(itemId));
    }

    /// @dev Loads an item that may still change: registered and not retired.
    function _loadLiveItem(bytes32 itemId) private view returns (uint96 state) {
        state = _loadItem(itemId);
        if (state.status() == ItemStatus.Retired) revert ItemIsRetired(itemId);
    }

    function _loadLockedItem(bytes32 itemId) private view returns (uint96 state) {
        state = _loadItem(itemId);
        if (!state.locked()) revert ItemNotLocked(itemId);
    }

    function _requireMovable(bytes32 itemId, uint96 state) private pure {
        ItemStatus status = state.status();
        if (status == ItemStatus.Retired) revert ItemIsRetired(itemId);
        if (status != ItemStatus.Active) revert ItemIsFlagged(itemId, status);
        if (state.locked()) revert ItemIsLocked(itemId);
    }

    /// @dev Reverts unless the caller owns the item or is the admin; returns whether it acted as admin
    /// (an owner who is also the admin acts as owner).
    function _isOwnerOrAdmin(bytes32 itemId) private view returns (bool byAdmin) {
        if (msg.sender == _ownerOf(uint256(itemId))) return false;
        if (_isAdmin(msg.sender)) return true;
        revert NotOwnerNorAdmin(itemId, msg.sender);
    }
}
