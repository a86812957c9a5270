/// Which page of a newest-first listing to read: at most `limit` items older than `before` (an item's ordinal, from
/// the previous page's cursor), or the newest ones. Keyset pagination: a page costs the same wherever it starts.
struct PageRequest: Sendable, Equatable {
    var limit: Int
    var before: Int?
}

/// One page of a listing and, when more items follow, the ordinal to continue before.
struct Page<Item: Sendable>: Sendable {
    var items: [Item]
    var nextBefore: Int?
}
