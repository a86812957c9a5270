import BlindmatchContract

/// The matching service's wire types: `Protocol/openapi.yaml`'s schemas as generated into `BlindmatchContract`
/// (Scripts/generate-contract.sh), which the server writes its answers with too. Timestamps stay text
/// (`YYYY-MM-DDTHH:MM:SSZ`, UTC) and thresholds and scores stay decimal text, as on the wire. Decoding is as strict
/// as the contract (`additionalProperties: false`): client and server are built from the same contract.
typealias ServiceAPI = Components.Schemas
