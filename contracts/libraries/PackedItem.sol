// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ItemStatus, Verdict} from "../types/ProvenanceTypes.sol";

/// @title PackedItem
/// @notice Layout of the 96 bits that ride in an item's ERC-721 ownership slot (Solady's "extra data").
/// Keeping everything the contracts enforce in the slot a mint or transfer writes anyway is what makes a
/// registration cost one new storage slot, and a transfer no extra cold one. Everything else is in events.
///
/// | bits  | field          |
/// |-------|----------------|
/// | 0-31  | transferNonce  |
/// | 32-63 | registrantId   |
/// | 64-71 | status         |
/// | 72    | brandCertified |
/// | 73    | flaggedByAdmin |
/// | 74    | locked         |
/// | 75-76 | lastVerdict    |
library PackedItem {
    uint8 private constant _REGISTRANT_SHIFT = 32;
    uint8 private constant _STATUS_SHIFT = 64;
    uint8 private constant _CERTIFIED_BIT = 72;
    uint8 private constant _ADMIN_FLAG_BIT = 73;
    uint8 private constant _LOCKED_BIT = 74;
    uint8 private constant _VERDICT_SHIFT = 75;

    function initial(uint32 registrant, bool certified) internal pure returns (uint96) {
        return uint96((uint256(registrant) << _REGISTRANT_SHIFT) | (_toBit(certified) << _CERTIFIED_BIT));
    }

    function transferNonce(uint96 packed) internal pure returns (uint32) {
        return uint32(packed);
    }

    /// @dev Wraps after 2^32 transfers, which only re-enables permits signed 4 billion transfers ago.
    function withNextTransferNonce(uint96 packed) internal pure returns (uint96) {
        unchecked {
            return (packed & ~uint96(type(uint32).max)) | uint96(uint32(packed) + 1);
        }
    }

    function registrantId(uint96 packed) internal pure returns (uint32) {
        return uint32(packed >> _REGISTRANT_SHIFT);
    }

    function status(uint96 packed) internal pure returns (ItemStatus) {
        return ItemStatus(uint8(packed >> _STATUS_SHIFT));
    }

    function withStatus(uint96 packed, ItemStatus newStatus) internal pure returns (uint96) {
        return (packed & ~(uint96(0xff) << _STATUS_SHIFT)) | (uint96(uint8(newStatus)) << _STATUS_SHIFT);
    }

    function brandCertified(uint96 packed) internal pure returns (bool) {
        return _bit(packed, _CERTIFIED_BIT);
    }

    function flaggedByAdmin(uint96 packed) internal pure returns (bool) {
        return _bit(packed, _ADMIN_FLAG_BIT);
    }

    function withFlaggedByAdmin(uint96 packed, bool value) internal pure returns (uint96) {
        return _setBit(packed, _ADMIN_FLAG_BIT, value);
    }

    function locked(uint96 packed) internal pure returns (bool) {
        return _bit(packed, _LOCKED_BIT);
    }

    function withLocked(uint96 packed, bool value) internal pure returns (uint96) {
        return _setBit(packed, _LOCKED_BIT, value);
    }

    function lastVerdict(uint96 packed) internal pure returns (Verdict) {
        return Verdict(uint8(packed >> _VERDICT_SHIFT) & 0x3);
    }

    function withLastVerdict(uint96 packed, Verdict verdict) internal pure returns (uint96) {
        return (packed & ~(uint96(0x3) << _VERDICT_SHIFT)) | (uint96(uint8(verdict)) << _VERDICT_SHIFT);
    }

    function _bit(uint96 packed, uint8 position) private pure returns (bool) {
        return (packed >> position) & 1 == 1;
    }

    function _setBit(uint96 packed, uint8 position, bool value) private pure returns (uint96) {
        return (packed & ~(uint96(1) << position)) | uint96(_toBit(value) << position);
    }

    function _toBit(bool value) private pure returns (uint256 result) {
        assembly ("memory-safe") {
            result := value
        }
    }
}
