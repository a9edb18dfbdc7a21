// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ERC721} from "solady/src/tokens/ERC721.sol";
import {LibString} from "solady/src/utils/LibString.sol";

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
contract ItemPassport is IItemPassport, VettingRegistry, ERC721 {
    using PackedItem for uint96;

    uint8 private constant _REGISTRANT_ROLES = uint8(1 << uint8(Role.Merchant)) | uint8(1 << uint8(Role.Brand));
    uint8 private constant _BRAND_ROLE = uint8(1 << uint8(Role.Brand));
    uint8 private constant _AUTHENTICATOR_ROLE = uint8(1 << uint8(Role.Authenticator));

    string private _baseTokenURI;

    /// @param initialAdmin The platform admin.
    /// @param adminTransferDelay Seconds a pending admin hand-over must wait before it can be accepted.
    /// @param baseTokenURI Prefix of `tokenURI`; the gateway's item URL.
    constructor(address initialAdmin, uint48 adminTransferDelay, string memory baseTokenURI)
        VettingRegistry(initialAdmin, adminTransferDelay)
    {
        _baseTokenURI = baseTokenURI;
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
        _isOwnerOrAdmin(itemId);
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

    /// @dev Every transfer (plain, safe, or with a sale reference) passes here: frozen items stay put, and the
    /// permit nonce moves on so a signature made for the previous owner dies with the transfer.
    function _beforeTokenTransfer(address from, address, uint256 tokenId) internal override {
        if (from == address(0)) return; // a mint; `_register` wrote the state
        bytes32 itemId = bytes32(tokenId);
        uint96 state = _getExtraData(tokenId);
        _requireMovable(itemId, state);
        _writeItem(itemId, state.withNextTransferNonce());
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IItemPassport
    function setBaseURI(string calldata baseURI) external {
        if (!_isAdmin(msg.sender)) revert NotAdmin(msg.sender);
        _baseTokenURI = baseURI;
        emit BaseURIChanged(baseURI, msg.sender);
    }

    // ---------------------------------------------------------------- views

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

    /// @dev Both parents implement ERC-165; the passport answers for either.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControlDefaultAdminRules, ERC721)
        returns (bool)
    {
        return ERC721.supportsInterface(interfaceId) || AccessControlDefaultAdminRules.supportsInterface(interfaceId);
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
