extension PostgresMigration {
    /// The chunked runs' tables (`blindmatch worker`), applied after the store's own migrations. Append-only, like
    /// those.
    static let workerMigrations: [PostgresMigration] = []
}
