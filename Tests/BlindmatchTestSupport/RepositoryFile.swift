import Foundation

/// Finds files under the repository's top-level folders (Protocol/, Keys/) through this file's path, so that every
/// test target reads vectors and keys in place rather than from a copy. Shared by all the test targets.
public enum RepositoryFile {
    /// The repository's root folder.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // BlindmatchTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    public static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    /// The path of a file below the root.
    public static func path(_ relativePath: String) -> String {
        url(relativePath).path
    }

    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    public static func bytes(_ relativePath: String) throws -> [UInt8] {
        Array(try data(relativePath))
    }

    /// Decodes a JSON file below the root.
    public static func decode<T: Decodable>(_ type: T.Type, from relativePath: String) throws -> T {
        try JSONDecoder().decode(type, from: data(relativePath))
    }
}
