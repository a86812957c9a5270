extension ServiceAPI {
    /// `ResultRow`: one row of a party's view, with exactly the members its grant's `fields` name, written back in
    /// the contract's field order.
    ///
    /// ```yaml
    /// required: [row]
    /// properties: {row: integer, counterpartRow: integer, rule: string, score: Score, status: [match, possible]}
    /// ```
    struct ResultRow: Codable, Sendable {
        let row: Int
        let counterpartRow: Int?
        let rule: String?
        let score: String?
        let status: String?
    }

    /// `ResultPage`: a page of one party's view of a succeeded run, under the disclosure policy. The `results`
    /// command writes every page's rows into one document of this shape, with `nextCursor` null.
    ///
    /// ```yaml
    /// required: [run, party, role, counterpartParty, fields, scoreDecimals, totalRows, items, nextCursor]
    /// ```
    struct ResultPage: Codable, Sendable {
        let run: String
        let party: String
        let role: PartyRole
        let counterpartParty: String
        let fields: [ResultField]
        let scoreDecimals: Int
        /// Rows in this party's whole view (after projection and de-duplication), over every page.
        let totalRows: Int
        var items: [ResultRow]
        var nextCursor: String?
    }
}
