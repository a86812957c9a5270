extension LinkageSchema {
    /// Builds a native schema (SPEC §2.2): first the JSON Schema in `Protocol/schema/`, then the rules a JSON
    /// Schema cannot say (names unique, references resolve, transforms fit the field kind).
    init(native document: JSONValue, source: String) throws {
        let structural = JSONSchemaValidator(schema: Self.nativeJSONSchema).validate(document)
        guard structural.isEmpty else { throw Self.failure(source, structural.map(\.description)) }

        var issues: [String] = []
        var columns: [Column] = []
        var kinds: [String: (index: Int, kind: String)] = [:]
        for (index, field) in (document["fields"]?.arrayValue ?? []).enumerated() {
            let name = field["name"]?.stringValue ?? ""
            let kindName = field["kind"]?.stringValue ?? ""
            if kinds[name] != nil { issues.append("$.fields[\(index)].name: \"\(name)\" is used twice") }
            kinds[name] = (index, kindName)
            if kindName == "ignore" {
                columns.append(Column(name: name, format: .ignored))
            } else if let kind = FieldKind(rawValue: kindName) {
                let order = field["dateOrder"]?.stringValue.flatMap(DateOrder.init(rawValue:)) ?? .dayFirst
                if field["dateOrder"] != nil && kind != .date {
                    issues.append("$.fields[\(index)].dateOrder: only a date field has a date order")
                }
                columns.append(Column(name: name, format: .normalised(Normaliser(kind: kind, dateOrder: order))))
            }
        }
        let recordKeyName = document["recordKey"]?.stringValue ?? ""
        let recordKeyColumn = kinds[recordKeyName]?.index ?? 0
        if kinds[recordKeyName] == nil {
            issues.append("$.recordKey: \"\(recordKeyName)\" is not one of the fields")
        }

        func part(_ value: JSONValue, path: String) -> MatchKeyPart? {
            let fieldName = value["field"]?.stringValue ?? ""
            let transform = value["transform"]?.stringValue.flatMap(MatchKeyPart.Transform.init(rawValue:)) ?? .value
            guard let field = kinds[fieldName] else {
                issues.append("\(path).field: \"\(fieldName)\" is not one of the fields")
                return nil
            }
            if field.kind == "ignore" || field.index == recordKeyColumn {
                issues.append("\(path).field: \"\(fieldName)\" is ignored or the record key and cannot be used")
            }
            switch transform {
            case .year where field.kind != "date":
                issues.append("\(path).transform: year applies only to a date field")
            case .soundex, .first, .canonical:
                if field.kind != "name" && field.kind != "text" {
                    issues.append("\(path).transform: \(transform.rawValue) applies only to a name or text field")
                }
            default: break
            }
            return MatchKeyPart(column: field.index, transform: transform)
        }

        // Match keys and blocking keys share one namespace: their names label token columns.
        var names = Set<String>()
        func keys(_ member: String) -> [MatchKey] {
            var result: [MatchKey] = []
            for (index, key) in (document[member]?.arrayValue ?? []).enumerated() {
                let name = key["name"]?.stringValue ?? ""
                if !names.insert(name).inserted {
                    issues.append("$.\(member)[\(index)].name: \"\(name)\" is used twice")
                }
                let parts = (key["parts"]?.arrayValue ?? []).enumerated().compactMap {
                    part($1, path: "$.\(member)[\(index)].parts[\($0)]")
                }
                result.append(
                    MatchKey(
                        name: name, parts: parts, anyOrder: key["anyOrder"]?.boolValue ?? false,
                        bucketBits: key["bucketBits"]?.intValue))
            }
            return result
        }
        let matchKeys = keys("matchKeys")
        let blockingKeys = keys("blockingKeys")
        if !blockingKeys.isEmpty && document["bloom"] == nil {
            issues.append("$.blockingKeys: blocking keys choose pairs for Bloom filters, and the schema has none")
        }

        /// One Bloom block (`$.bloom`, or `$.extraFilters[i]`): its fields, length and hardening (SPEC §2.2).
        func bloomSettings(_ settings: JSONValue, path: String) -> BloomSettings {
            var fields: [BloomField] = []
            for (index, entry) in (settings["fields"]?.arrayValue ?? []).enumerated() {
                let fieldPath = "\(path).fields[\(index)]"
                let fieldName = entry["field"]?.stringValue ?? ""
                guard let field = kinds[fieldName], field.kind != "ignore", field.index != recordKeyColumn else {
                    issues.append("\(fieldPath).field: \"\(fieldName)\" is not a usable field")
                    continue
                }
                if fields.contains(where: { $0.name == fieldName }) {
                    issues.append("\(fieldPath).field: \"\(fieldName)\" is encoded twice")
                }
                let tokens = entry["tokens"]
                let tokenizer: BloomField.Tokenizer =
                    tokens?["type"]?.stringValue == "exact"
                    ? .exact
                    : .ngram(n: tokens?["n"]?.intValue ?? 2, positional: tokens?["positional"]?.boolValue ?? false)
                let strategy: BloomField.Strategy =
                    entry["bitsPerToken"]?.intValue.map(BloomField.Strategy.bitsPerToken)
                    ?? .bitsPerFeature(entry["bitsPerFeature"]?.intValue ?? 1)
                var bloomField = BloomField(
                    name: fieldName, column: field.index, keyIndex: field.index, tokenizer: tokenizer,
                    strategy: strategy, hash: .hmacSHA256)
                bloomField.keyGroup = entry["keyGroup"]?.stringValue
                fields.append(bloomField)
            }
            let hardeningDocument = settings["hardening"]
            let folds = hardeningDocument?["xorFolds"]?.intValue ?? 0
            var hardening = Hardening.none
            if let salt = hardeningDocument?["salt"] {
                hardening.salt = part(salt, path: "\(path).hardening.salt")
            }
            hardening.balance = hardeningDocument?["balance"]?.boolValue ?? false
            hardening.diffusionTaps = hardeningDocument?["diffusion"]?["taps"]?.intValue
            hardening.flipProbability = hardeningDocument?["randomisedResponse"]?["flipProbability"]?.doubleValue
            let bits = settings["bits"]?.intValue ?? 1024
            return BloomSettings(
                hashBits: bits << folds, baseBits: bits, xorFolds: folds, fields: fields,
                keyDerivation: .native, hardening: hardening)
        }
        let bloom = document["bloom"].map { bloomSettings($0, path: "$.bloom") }
        var extraFilters: [ExtraFilter] = []
        for (index, entry) in (document["extraFilters"]?.arrayValue ?? []).enumerated() {
            let path = "$.extraFilters[\(index)]"
            let name = entry["name"]?.stringValue ?? ""
            if extraFilters.contains(where: { $0.name == name }) {
                issues.append("\(path).name: \"\(name)\" is used twice")
            }
            extraFilters.append(ExtraFilter(name: name, settings: bloomSettings(entry, path: path)))
        }
        if !extraFilters.isEmpty && bloom == nil {
            issues.append("$.extraFilters: extra filters need the first filter ($.bloom), which chooses the candidates")
        }
        if matchKeys.isEmpty && bloom == nil {
            issues.append("$: a schema needs match keys, Bloom-filter settings, or both")
        }
        guard issues.isEmpty else { throw Self.failure(source, issues) }

        self.init(
            flavour: .native, name: document["name"]?.stringValue ?? "", fingerprint: Self.fingerprint(of: document),
            columns: columns, recordKeyColumn: recordKeyColumn, matchKeys: matchKeys, blockingKeys: blockingKeys,
            bloom: bloom, extraFilters: extraFilters, document: document)
    }

    /// `Protocol/schema/linkage-schema.schema.json`, parsed.
    static let nativeJSONSchema: JSONValue = {
        // The embedded text is checked against the file by the test suite; it is valid JSON.
        (try? JSONValue(parsing: nativeJSONSchemaText, source: "linkage-schema.schema.json")) ?? .bool(false)
    }()
}
