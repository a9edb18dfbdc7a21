// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ReentrantReceiver (test only)
/// @notice A hostile contract account for the resale market's reentrancy tests. Its deployer drives it with
/// `execute` (so it can list, buy, ship, confirm and withdraw like any party), and whenever it receives ETH it
/// makes one configured call back into a target (say `withdraw()` again, or `finalize(saleId)`), records
/// whether that call succeeded, and swallows its failure so that the outer payment still completes.
/// With `rejectPayments` set it refuses ETH instead.
/// @dev Not part of the product: it is compiled into an artifact only because the tests deploy it.
contract ReentrantReceiver {
    address private immutable _operator;

    address private _reentryTarget;
    bytes private _reentryCall;
    bool private _rejectPayments;
    bool private _reentering;

    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    bytes public lastReentryResult;
    uint256 public received;

    constructor() {
        _operator = msg.sender;
    }

    /// @notice Calls `target` with `data` and `value`, bubbling up a revert. Operator only.
    function execute(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        if (msg.sender != _operator) revert();
        // slither-disable-next-line arbitrary-send-eth,low-level-calls
        (bool ok, bytes memory result) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }

    /// @notice Sets the call made back into `target` on every receipt of ETH (empty `data`: none). Operator only.
    function setReentry(address target, bytes calldata data) external {
        if (msg.sender != _operator) revert();
        _reentryTarget = target;
        _reentryCall = data;
    }

    /// @notice Makes this contract refuse (or accept again) ETH. Operator only.
    function setRejectPayments(bool reject) external {
        if (msg.sender != _operator) revert();
        _rejectPayments = reject;
    }

    receive() external payable {
        if (_rejectPayments) revert();
        received += msg.value;
        if (_reentryCall.length == 0 || _reentering) return;
        _reentering = true;
        reentryAttempts += 1;
        // slither-disable-next-line low-level-calls
        (bool ok, bytes memory result) = _reentryTarget.call(_reentryCall);
        if (ok) reentrySuccesses += 1;
        lastReentryResult = result;
        _reentering = false;
    }
}
