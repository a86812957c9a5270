/// Precision, recall and F1 of predicted pairs against the true pairs (DESIGN "Quality, speed and proof").
public struct Evaluation: Sendable, Equatable, CustomStringConvertible {
    /// A pair of the agencies' own record keys (watch list, bulk).
    public struct KeyPair: Hashable, Sendable {
        public let a: String
        public let b: String

        public init(_ a: String, _ b: String) {
            self.a = a
            self.b = b
        }
    }

    public let truePositives: Int
    public let falsePositives: Int
    public let falseNegatives: Int

    public init(predicted: Set<KeyPair>, truth: Set<KeyPair>) {
        truePositives = predicted.intersection(truth).count
        falsePositives = predicted.count - truePositives
        falseNegatives = truth.count - truePositives
    }

    /// TP / (TP + FP); 1 when nothing was predicted.
    public var precision: Double {
        truePositives + falsePositives == 0 ? 1 : Double(truePositives) / Double(truePositives + falsePositives)
    }

    /// TP / (TP + FN); 1 when there is nothing to find.
    public var recall: Double {
        truePositives + falseNegatives == 0 ? 1 : Double(truePositives) / Double(truePositives + falseNegatives)
    }

    public var f1: Double {
        precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
    }

    public var description: String {
        "precision \(Self.format(precision)), recall \(Self.format(recall)), F1 \(Self.format(f1)) (TP \(truePositives), FP \(falsePositives), FN \(falseNegatives))"
    }

    static func format(_ value: Double) -> String {
        let scaled = Int((value * 10000).rounded())
        let text = String(scaled % 10000)
        return "\(scaled / 10000).\(String(repeating: "0", count: 4 - text.count))\(text)"
    }
}
