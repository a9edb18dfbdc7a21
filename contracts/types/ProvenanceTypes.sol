// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev Roles an account can be vetted for. Stored as a bitmask: bit `uint8(role)` is set when held.
enum Role {
    // A resale seller or marketplace: registers, services, lists and transfers items.
    Merchant,
    // An inspection or authentication service: records authentication verdicts.
    Authenticator,
    // Resolves disputes in the resale market.
    Arbiter,
    // A brand owner: its registrations are marked brand-certified originals.
    Brand
}

/// @dev Standing of a vetted account. Only `Active` accounts may act in any of their roles.
enum AccountStatus {
    // Never vetted.
    None,
    // Vetted and in good standing.
    Active,
    // Temporarily barred; `reinstate` makes it active again.
    Suspended,
    // Permanently barred for the current vetting; only a fresh vetting (new credentials) restores it.
    Revoked
}

/// @dev Where an item stands in its life. Transfers and listings need `Active`.
enum ItemStatus {
    // In circulation.
    Active,
    // Reported lost by its owner or the platform admin.
    Lost,
    // Reported stolen by its owner or the platform admin.
    Stolen,
    // End of life; the passport can never move again.
    Retired
}

/// @dev Outcome of an authentication or inspection.
enum Verdict {
    // No authentication recorded yet.
    None,
    // The item was found to be genuine.
    Authentic,
    // The item was found to be counterfeit.
    Counterfeit,
    // The inspection could not decide.
    Inconclusive
}

/// @dev Condition grade given at inspection, best first (resale-industry scale).
enum ConditionGrade {
    // No grade given.
    Ungraded,
    // Unused, with original tags or packaging.
    New,
    // Used once or twice, no visible wear.
    LikeNew,
    // Light signs of use.
    Excellent,
    // Visible but minor wear.
    VeryGood,
    // Noticeable wear, fully functional.
    Good,
    // Heavy wear or minor defects.
    Fair,
    // Damaged; sold for parts or repair.
    Poor
}

/// @dev What a service record describes.
enum ServiceKind {
    // A fault was fixed.
    Repair,
    // The item was restored to a better condition.
    Refurbishment,
    // A component was replaced; the evidence should say which and with what.
    PartReplacement,
    // Anything else; the evidence says what.
    Other
}

/// @dev How an item ended its life.
enum RetirementKind {
    // Materials recovered.
    Recycled,
    // Physically destroyed.
    Destroyed,
    // Taken apart; parts may live on in other items.
    Dismantled,
    // Rebuilt or reused as a new product, which gets its own passport linked to this one.
    Remanufactured
}

/// @dev The on-chain record of a vetted account.
struct Account {
    // Sequential id, starting at 1; 0 means never vetted. Item passports store it instead of the address.
    uint32 id;
    // Bitmask of `Role`s held: bit `uint8(role)`.
    uint8 roles;
    // Current standing.
    AccountStatus status;
    // Timestamp of the (latest) vetting.
    uint40 vettedAt;
    // Timestamp of the latest change to this record.
    uint40 updatedAt;
    // keccak256 of the RFC 8785 canonical JSON of the off-chain vetting dossier; the dossier never goes on chain.
    bytes32 credentialHash;
    // Public display name.
    string name;
}

/// @dev The current on-chain state of an item passport. History lives in events.
struct Item {
    // Current holder of the passport token.
    address owner;
    // Where the item stands in its life.
    ItemStatus status;
    // True when a brand registered the item: a brand-certified original.
    bool brandCertified;
    // True when the status is Lost or Stolen by the admin's report: only the admin may clear it.
    bool flaggedByAdmin;
    // True while the resale market holds the item in escrow or dispute: only the market may move it.
    bool locked;
    // The latest authentication verdict recorded.
    Verdict lastVerdict;
    // The account that registered the item (resolved from its registry id).
    address registrant;
    // The registry id of that account.
    uint32 registrantId;
    // Counts the transfers of the item; the ERC-4494 permit nonce.
    uint32 transferNonce;
}
