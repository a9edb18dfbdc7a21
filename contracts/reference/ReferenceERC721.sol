// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title ReferenceERC721
/// @notice A plain OpenZeppelin ERC721 with an open mint: the yardstick `scripts/bench_gas.py` measures the
/// passport's registration and transfer against. Never deploy it anywhere that matters.
contract ReferenceERC721 is ERC721 {
    constructor() ERC721("Reference", "REF") {}

    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}
