extension MatchKeyPart {
    /// SPEC §4.2: what this part takes of a normalised value (nil when missing). The schema is public to the
    /// matcher, so an attacker with clear-text values can form the same combinations (docs/privacy.md).
    public func piece(of value: String) -> String? {
        RecordEncoder.transform(value, transform)
    }
}
