// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

import {IVettingRegistry} from "./interfaces/IVettingRegistry.sol";
import {Account, AccountStatus, Role} from "./types/ProvenanceTypes.sol";

/// @title VettingRegistry
/// @notice Who may act on item passports, and in which role. The platform admin is the single
/// default admin of OpenZeppelin's AccessControlDefaultAdminRules, so handing the platform over
/// takes two steps and a delay instead of one typo.
/// @dev Abstract and inherited by `ItemPassport` rather than deployed alone: a registration checks the
/// caller's standing with an internal warm-able storage read instead of a cross-contract call to a cold
/// account, which is what keeps a single registration within 10% of a plain ERC-721 mint.
abstract contract VettingRegistry is IVettingRegistry, AccessControlDefaultAdminRules {
    /// @dev Bits above `Role.Brand` name no role.
    uint8 private constant _ALL_ROLES = uint8((1 << (uint8(type(Role).max) + 1)) - 1);

    mapping(address account => Account record) private _accounts;
    mapping(uint32 id => address account) private _accountById;
    uint32 private _accountCount;

    /// @param initialAdmin The platform admin.
    /// @param adminTransferDelay Seconds a pending admin hand-over must wait before it can be accepted.
    constructor(address initialAdmin, uint48 adminTransferDelay)
        AccessControlDefaultAdminRules(adminTransferDelay, initialAdmin)
    {}

    /// @inheritdoc IVettingRegistry
    function vet(address account, uint8 roles, bytes32 credentialHash, string calldata name, bytes32 reasonHash)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint32 id)
    {
        _requireValidRecord(account, roles, credentialHash, name);
        Account storage record = _accounts[account];
        AccountStatus previous = record.status;
        if (previous == AccountStatus.Active) revert AccountAlreadyActive(account);

        id = record.id;
        if (id == 0) {
            id = ++_accountCount;
            record.id = id;
            _accountById[id] = account;
        }
        record.roles = roles;
        record.status = AccountStatus.Active;
        record.vettedAt = uint40(block.timestamp);
        record.updatedAt = uint40(block.timestamp);
        record.credentialHash = credentialHash;
        record.name = name;
        emit AccountVetted(account, id, roles, credentialHash, name, msg.sender, reasonHash);
        if (previous != AccountStatus.None) {
            emit AccountStatusChanged(account, previous, AccountStatus.Active, msg.sender, reasonHash);
        }
    }

    /// @inheritdoc IVettingRegistry
    function amend(address account, uint8 roles, bytes32 credentialHash, string calldata name, bytes32 reasonHash)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _requireValidRecord(account, roles, credentialHash, name);
        Account storage record = _accounts[account];
        if (record.status != AccountStatus.Active) {
            revert InvalidStatusTransition(account, record.status, AccountStatus.Active);
        }
        record.roles = roles;
        record.updatedAt = uint40(block.timestamp);
        record.credentialHash = credentialHash;
        record.name = name;
        emit AccountVetted(account, record.id, roles, credentialHash, name, msg.sender, reasonHash);
    }

    /// @inheritdoc IVettingRegistry
    function suspend(address account, bytes32 reasonHash) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _changeStatus(account, AccountStatus.Active, AccountStatus.Suspended, reasonHash);
    }

    /// @inheritdoc IVettingRegistry
    function reinstate(address account, bytes32 reasonHash) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _changeStatus(account, AccountStatus.Suspended, AccountStatus.Active, reasonHash);
    }

    /// @inheritdoc IVettingRegistry
    function revoke(address account, bytes32 reasonHash) external onlyRole(DEFAULT_ADMIN_ROLE) {
        AccountStatus current = _accounts[account].status;
        // Revocation is allowed from either live state, so it reuses the transition check with the actual one.
        AccountStatus from = current == AccountStatus.Suspended ? AccountStatus.Suspended : AccountStatus.Active;
        _changeStatus(account, from, AccountStatus.Revoked, reasonHash);
    }

    /// @inheritdoc IVettingRegistry
    function accountOf(address account) external view returns (Account memory) {
        return _accounts[account];
    }

    /// @inheritdoc IVettingRegistry
    function accountById(uint32 id) external view returns (address) {
        return _accountById[id];
    }

    /// @inheritdoc IVettingRegistry
    function standingOf(address account) external view returns (uint32 id, uint8 roles, AccountStatus status) {
        Account storage record = _accounts[account];
        return (record.id, record.roles, record.status);
    }

    /// @inheritdoc IVettingRegistry
    function requireActive(address account, uint8 roleMask) external view returns (uint32 id, uint8 roles) {
        return _requireActive(account, roleMask);
    }

    /// @inheritdoc IVettingRegistry
    function isAdmin(address account) external view returns (bool) {
        return _isAdmin(account);
    }

    /// @inheritdoc IVettingRegistry
    function accountCount() external view returns (uint32) {
        return _accountCount;
    }

    function _requireActive(address account, uint8 roleMask) internal view returns (uint32 id, uint8 roles) {
        Account storage record = _accounts[account];
        roles = record.roles;
        if (roles & roleMask == 0) revert AccountLacksRole(account, roleMask);
        if (record.status != AccountStatus.Active) revert AccountNotActive(account, record.status);
        return (record.id, roles);
    }

    function _isAdmin(address account) internal view returns (bool) {
        return hasRole(DEFAULT_ADMIN_ROLE, account);
    }

    function _accountAddress(uint32 id) internal view returns (address) {
        return _accountById[id];
    }

    function _changeStatus(address account, AccountStatus from, AccountStatus to, bytes32 reasonHash) private {
        Account storage record = _accounts[account];
        AccountStatus current = record.status;
        if (current == AccountStatus.None) revert AccountNotVetted(account);
        if (current != from) revert InvalidStatusTransition(account, current, to);
        record.status = to;
        record.updatedAt = uint40(block.timestamp);
        emit AccountStatusChanged(account, current, to, msg.sender, reasonHash);
    }

    function _requireValidRecord(address account, uint8 roles, bytes32 credentialHash, string calldata name)
        private
        pure
    {
        if (account == address(0)) revert InvalidAccount(account);
        if (roles == 0 || roles & ~_ALL_ROLES != 0) revert InvalidRoles(roles);
        if (credentialHash == bytes32(0)) revert MissingCredentialHash(account);
        if (bytes(name).length == 0) revert EmptyName(account);
    }
}
