import BlindmatchProtocol

/// The fixed rule's default Dice threshold: what `match --threshold t` is without `t`, and what a run falls back to
/// when the decision model cannot choose (``MatchEngine/Report/thresholdFallback``). Chosen by measurement (README,
/// "Measured"; docs/privacy.md, "The default threshold").
public enum DefaultThreshold {
    /// The Dice threshold for filters without diffusion (and for clkhash filters).
    public static let withoutDiffusion = "0.85"

    /// The Dice threshold for filters diffused with `taps` taps (SPEC §5.5.2), or without diffusion (nil). Diffusion
    /// flips about `taps` output bits for every input bit that differs between two records, so near-matches score
    /// lower the more taps there are. Each value is the lowest threshold, in steps of 0.05, that kept precision at or
    /// above 0.99 on every data set measured with the example schema's columns (`synth` default and harsh profiles
    /// and independent data, seeds 1–3, 2,000 × 50,000; with and without the salt): 0.85 without diffusion, 0.75
    /// for 2 or 3 taps, 0.65 for 4 or 5, 0.60 for 6 (lower thresholds were not measured, so 0.60 from there on).
    public static func text(diffusionTaps taps: Int?) -> String {
        guard let taps else { return withoutDiffusion }
        switch taps {
        case ...3: return "0.75"
        case 4...5: return "0.65"
        default: return "0.60"
        }
    }

    /// The default threshold for filters hardened as `schema` says.
    public static func text(for schema: LinkageSchema) -> String {
        text(diffusionTaps: schema.bloom?.hardening.diffusionTaps)
    }

    /// The default threshold for filters hardened as a token file's header says (`hardening.diffusionTaps`, SPEC
    /// §6.3); the header is signed with the file, so the matcher needs no schema for it.
    public static func text(for header: TokenFileHeader) -> String {
        guard case .object(let members) = header.hardening,
            case .number(let text)? = members.first(where: { $0.key == "diffusionTaps" })?.value
        else { return withoutDiffusion }
        return self.text(diffusionTaps: Int(text) ?? Int(Double(text) ?? 0))
    }
}
