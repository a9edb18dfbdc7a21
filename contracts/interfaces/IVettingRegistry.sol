// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Account, AccountStatus} from "../types/ProvenanceTypes.sol";

/// @title Vetting registry
/// @notice The platform admin vets the accounts that may act on items: merchants, authenticators,
/// arbiters and brands. Each vetted account carries a hash of its off-chain vetting dossier, a public
/// name and a status. Suspension and revocation take effect at once for every role the account holds.
interface IVettingRegistry {
    /// @notice An account was vetted (or re-vetted with new roles or credentials).
    /// @param account The vetted account.
    /// @param id Its registry id, stable across re-vettings.
    /// @param roles Bitmask of the roles granted (bit `uint8(Role)`).
    /// @param credentialHash keccak256 of the canonical JSON of the vetting dossier.
    /// @param name Public display name.
    /// @param by The admin who vetted it.
    /// @param reasonHash keccak256 of the canonical JSON of the decision's reasons.
    event AccountVetted(
        address indexed account,
        uint32 indexed id,
        uint8 roles,
        bytes32 credentialHash,
        string name,
        address indexed by,
        bytes32 reasonHash
    );

    /// @notice An account's standing changed: suspended, reinstated or revoked.
    /// @param account The account.
    /// @param previous Its status before the change.
    /// @param status Its status now.
    /// @param by The admin who made the change.
    /// @param reasonHash keccak256 of the canonical JSON of the decision's reasons.
    event AccountStatusChanged(
        address indexed account,
        AccountStatus previous,
        AccountStatus status,
        address indexed by,
        bytes32 reasonHash
    );

    /// @notice The account is the zero address.
    error InvalidAccount(address account);
    /// @notice The roles bitmask is empty or names a role that does not exist.
    error InvalidRoles(uint8 roles);
    /// @notice A display name is required.
    error EmptyName(address account);
    /// @notice A credential hash is required.
    error MissingCredentialHash(address account);
    /// @notice The account has never been vetted.
    error AccountNotVetted(address account);
    /// @notice The account is already vetted and active; suspend or revoke it first, or use the same roles.
    error AccountAlreadyActive(address account);
    /// @notice The requested status change is not allowed from the account's current status.
    error InvalidStatusTransition(address account, AccountStatus from, AccountStatus to);
    /// @notice The account holds none of the required roles.
    error AccountLacksRole(address account, uint8 requiredRoles);
    /// @notice The account holds a required role but is not active.
    error AccountNotActive(address account, AccountStatus status);

    /// @notice Vets `account` for `roles`, or re-vets a suspended or revoked account with fresh
    /// credentials. The account becomes active. Admin only.
    /// @return id The account's registry id.
    function vet(address account, uint8 roles, bytes32 credentialHash, string calldata name, bytes32 reasonHash)
        external
        returns (uint32 id);

    /// @notice Changes the roles, credentials or name of an active account. Admin only.
    function amend(address account, uint8 roles, bytes32 credentialHash, string calldata name, bytes32 reasonHash)
        external;

    /// @notice Bars an active account at once. Admin only.
    function suspend(address account, bytes32 reasonHash) external;

    /// @notice Lets a suspended account act again. Admin only.
    function reinstate(address account, bytes32 reasonHash) external;

    /// @notice Bars an active or suspended account for good; only `vet` with new credentials undoes it.
    /// Admin only.
    function revoke(address account, bytes32 reasonHash) external;

    /// @notice The full record of `account` (all zero when never vetted).
    function accountOf(address account) external view returns (Account memory);

    /// @notice The account holding registry id `id`, or the zero address.
    function accountById(uint32 id) external view returns (address);

    /// @notice One storage read for hot paths: the account's id, roles bitmask and status.
    function standingOf(address account) external view returns (uint32 id, uint8 roles, AccountStatus status);

    /// @notice Reverts unless `account` is active and holds at least one of `roleMask`'s roles.
    /// @return id The account's registry id.
    /// @return roles The roles it holds.
    function requireActive(address account, uint8 roleMask) external view returns (uint32 id, uint8 roles);

    /// @notice Whether `account` is the platform admin.
    function isAdmin(address account) external view returns (bool);

    /// @notice Number of accounts ever vetted (the highest id).
    function accountCount() external view returns (uint32);
}
