// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ERC-4494: permits for ERC-721
/// @notice The owner of a token signs an EIP-712 `Permit(address spender,uint256 tokenId,uint256 nonce,
/// uint256 deadline)` off chain; anyone submits it, and `spender` becomes the token's approved address.
/// The nonce is per token, so a permit signed by an owner dies when the token leaves that owner.
/// ERC-165 interface id: `0x5604e225`.
interface IERC4494 {
    /// @notice Approves `spender` for `tokenId` on the strength of the owner's signature.
    /// @param spender The account to approve.
    /// @param tokenId The token.
    /// @param deadline Last timestamp (inclusive) at which the permit may be used.
    /// @param sig The owner's 65-byte ECDSA signature (`r ‖ s ‖ v`), or an ERC-1271 signature when the owner
    /// is a contract.
    function permit(address spender, uint256 tokenId, uint256 deadline, bytes calldata sig) external;

    /// @notice The nonce a permit for `tokenId` must be signed with now.
    function nonces(uint256 tokenId) external view returns (uint256);

    /// @notice The EIP-712 domain separator permits are signed under (this chain, this contract).
    // The conventional name (EIP-2612, ERC-4494), which wallets and SDKs look for.
    // slither-disable-next-line naming-convention
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
