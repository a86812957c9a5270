import BlindmatchProtocol

/// Encodes the contract's generated types (`Components.Schemas`) as a `JSONValue`, which the server writes in the
/// canonical form of SPEC §2.1.
///
/// The generated types hold a nullable member as a Swift optional and, as every `Codable` type does, encode it with
/// `encodeIfPresent`, which leaves a nil out. The contract, though, lists most nullable members as *required*: a
/// project still open has `"closedAt": null`, not no `closedAt`. This encoder therefore writes `null` for a nil,
/// except for the members a schema lists as optional (`OptionalMembers`, generated from the same contract), which it
/// leaves out as the contract asks (`ResultRow`'s fields the grant withholds, `Error.rule`).
public struct ContractEncoder: Sendable {
    public init() {}

    public func encode<Value: Encodable>(_ value: Value) throws -> JSONValue {
        let root = Slot()
        try value.encode(to: SlotEncoder(slot: root, optionalMembers: Value.optionalMembersIfAny, codingPath: []))
        return root.value
    }
}

/// A schema whose object has members that are not `required` (omitted rather than `null` when absent).
public protocol OptionalMembers {
    static var optionalMembers: Set<String> { get }
}

extension Encodable {
    fileprivate static var optionalMembersIfAny: Set<String> {
        (Self.self as? any OptionalMembers.Type)?.optionalMembers ?? []
    }
}

/// One value being built: a leaf, an object whose members are written in order, or an array. A member or element
/// that is a plain value is kept as it is; only a nested object or array gets a slot of its own. Members and
/// elements are stored properties (not an enum's payload), so that appending never copies them.
private final class Slot {
    enum Kind {
        case leaf, object, array
    }

    enum Node {
        case leaf(JSONValue)
        case slot(Slot)

        var value: JSONValue {
            switch self {
            case .leaf(let value): value
            case .slot(let slot): slot.value
            }
        }
    }

    var kind = Kind.leaf
    var leaf = JSONValue.null
    var members: [(key: String, node: Node)] = []
    var elements: [Node] = []

    var value: JSONValue {
        switch kind {
        case .leaf: leaf
        case .object: .object(members.map { (key: $0.key, value: $0.node.value) })
        case .array: .array(elements.map(\.value))
        }
    }

    func becomeObject() {
        if kind != .object {
            kind = .object
            members = []
        }
    }

    func becomeArray() {
        if kind != .array {
            kind = .array
            elements = []
        }
    }

    func setLeaf(_ value: JSONValue) {
        kind = .leaf
        leaf = value
    }

    /// A member that is a plain value (a Codable type writes each key once).
    func append(key: String, leaf: JSONValue) {
        becomeObject()
        members.append((key: key, node: .leaf(leaf)))
    }

    /// A member that is itself built: an object, an array, or a value that encodes itself.
    func append(key: String) -> Slot {
        becomeObject()
        let slot = Slot()
        members.append((key: key, node: .slot(slot)))
        return slot
    }

    func appendElement(leaf: JSONValue) {
        becomeArray()
        elements.append(.leaf(leaf))
    }

    func appendElement() -> Slot {
        becomeArray()
        let slot = Slot()
        elements.append(.slot(slot))
        return slot
    }

    /// The leaf of a plain value, or nil for a value that encodes itself. The type is looked at first (a cheap
    /// metatype check), so that objects and arrays, the common case here, cost no failed value casts.
    static func leaf<Value: Encodable>(
        of value: Value, codingPath: @autoclosure () -> [any CodingKey]
    ) throws -> JSONValue? {
        switch Value.self {
        case is String.Type: (value as? String).map(JSONValue.string)
        case is Int.Type: (value as? Int).map { .number(String($0)) }
        case is Bool.Type: (value as? Bool).map(JSONValue.bool)
        case is Double.Type: try (value as? Double).map { try number($0, codingPath: codingPath()) }
        case is Float.Type: try (value as? Float).map { try number(Double($0), codingPath: codingPath()) }
        case is any BinaryInteger.Type: (value as? any BinaryInteger).map { .number(String(describing: $0)) }
        default: nil
        }
    }

    /// Encodes `value` into this slot.
    func set<Value: Encodable>(_ value: Value, codingPath: [any CodingKey]) throws {
        if let leaf = try Self.leaf(of: value, codingPath: codingPath) {
            setLeaf(leaf)
        } else {
            try value.encode(
                to: SlotEncoder(slot: self, optionalMembers: Value.optionalMembersIfAny, codingPath: codingPath))
        }
    }

    static func number(_ value: Double, codingPath: @autoclosure () -> [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath(), debugDescription: "JSON has no infinities or NaN"))
        }
        return .number(value.description)
    }
}

private struct SlotEncoder: Encoder {
    let slot: Slot
    let optionalMembers: Set<String>
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        slot.becomeObject()
        return KeyedEncodingContainer(
            KeyedSlotContainer<Key>(slot: slot, optionalMembers: optionalMembers, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        slot.becomeArray()
        return UnkeyedSlotContainer(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleSlotContainer(slot: slot, codingPath: codingPath)
    }
}

private struct KeyedSlotContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    let optionalMembers: Set<String>
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { slot.append(key: key.stringValue, leaf: .null) }

    mutating func encode<Value: Encodable>(_ value: Value, forKey key: Key) throws {
        if let leaf = try Slot.leaf(of: value, codingPath: codingPath + [key]) {
            slot.append(key: key.stringValue, leaf: leaf)
        } else {
            try value.encode(
                to: SlotEncoder(
                    slot: slot.append(key: key.stringValue), optionalMembers: Value.optionalMembersIfAny,
                    codingPath: codingPath + [key]))
        }
    }

    // Plain values, without a dynamic cast.
    mutating func encode(_ value: String, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .string(value))
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .bool(value))
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: try Slot.number(value, codingPath: codingPath + [key]))
    }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encode(Double(value), forKey: key) }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        slot.append(key: key.stringValue, leaf: .number(String(value)))
    }

    // Every optional goes through here or the typed overloads below: nil is `null` for a required member and
    // nothing for an optional one.
    mutating func encodeIfPresent<Value: Encodable>(_ value: Value?, forKey key: Key) throws {
        if let value {
            try encode(value, forKey: key)
        } else if !optionalMembers.contains(key.stringValue) {
            try encodeNil(forKey: key)
        }
    }

    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }

    private mutating func absent(_ key: Key) throws {
        if !optionalMembers.contains(key.stringValue) { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = slot.append(key: key.stringValue)
        child.becomeObject()
        return KeyedEncodingContainer(
            KeyedSlotContainer<NestedKey>(slot: child, optionalMembers: [], codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = slot.append(key: key.stringValue)
        child.becomeArray()
        return UnkeyedSlotContainer(slot: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        SlotEncoder(slot: slot.append(key: "super"), optionalMembers: [], codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        SlotEncoder(slot: slot.append(key: key.stringValue), optionalMembers: [], codingPath: codingPath + [key])
    }
}

private struct UnkeyedSlotContainer: UnkeyedEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]

    var count: Int { slot.kind == .array ? slot.elements.count : 0 }

    mutating func encodeNil() throws { slot.appendElement(leaf: .null) }

    mutating func encode<Value: Encodable>(_ value: Value) throws {
        if let leaf = try Slot.leaf(of: value, codingPath: codingPath) {
            slot.appendElement(leaf: leaf)
        } else {
            try slot.appendElement().set(value, codingPath: codingPath)
        }
    }

    mutating func encode(_ value: String) throws { slot.appendElement(leaf: .string(value)) }
    mutating func encode(_ value: Bool) throws { slot.appendElement(leaf: .bool(value)) }
    mutating func encode(_ value: Double) throws {
        slot.appendElement(leaf: try Slot.number(value, codingPath: codingPath))
    }
    mutating func encode(_ value: Float) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: Int8) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: Int16) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: Int32) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: Int64) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: UInt) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: UInt8) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: UInt16) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: UInt32) throws { slot.appendElement(leaf: .number(String(value))) }
    mutating func encode(_ value: UInt64) throws { slot.appendElement(leaf: .number(String(value))) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = slot.appendElement()
        child.becomeObject()
        return KeyedEncodingContainer(
            KeyedSlotContainer<NestedKey>(slot: child, optionalMembers: [], codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = slot.appendElement()
        child.becomeArray()
        return UnkeyedSlotContainer(slot: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        SlotEncoder(slot: slot.appendElement(), optionalMembers: [], codingPath: codingPath)
    }
}

private struct SingleSlotContainer: SingleValueEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.setLeaf(.null) }

    mutating func encode<Value: Encodable>(_ value: Value) throws { try slot.set(value, codingPath: codingPath) }

    mutating func encode(_ value: String) throws { slot.setLeaf(.string(value)) }
    mutating func encode(_ value: Bool) throws { slot.setLeaf(.bool(value)) }
    mutating func encode(_ value: Double) throws { slot.setLeaf(try Slot.number(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: Int8) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: Int16) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: Int32) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: Int64) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: UInt) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: UInt8) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: UInt16) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: UInt32) throws { slot.setLeaf(.number(String(value))) }
    mutating func encode(_ value: UInt64) throws { slot.setLeaf(.number(String(value))) }
}

extension ContractEncoder {
    /// The canonical JSON text (SPEC §2.1) of `value`.
    public func canonicalText<Value: Encodable>(_ value: Value) throws -> String {
        try encode(value).canonicalText
    }
}
