import Foundation
import Testing

@testable import BlindmatchProtocol

/// SPEC §6.8: temporary files of a killed run are removed; those of a live writer, young ones and other names stay.
struct StaleTemporaryFilesTests {
    @Test func onlyUnlockedOldTemporaryFilesOfTheSameNameAreRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stale-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let destination = "\(folder)/tokens.bmt"
        let aMinuteAgo = [FileAttributeKey.modificationDate: Date().addingTimeInterval(-60)]
        func plant(_ name: String, old: Bool = true) throws {
            let path = "\(folder)/\(name)"
            if name.hasSuffix(".work") {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                try Data("rows".utf8).write(to: URL(fileURLWithPath: "\(path)/bucket-0"))
            } else {
                try Data("rows".utf8).write(to: URL(fileURLWithPath: path))
            }
            if old { try FileManager.default.setAttributes(aMinuteAgo, ofItemAtPath: path) }
        }
        let stale = [".tokens.bmt.0123456789ab.partial", ".tokens.bmt.abcdef012345.work"]
        let kept = [
            ".other.bmt.0123456789ab.partial", ".tokens.bmt.xyz.partial", ".tokens.bmt.0123456789ab.partial.bak",
            "tokens.bmt.0123456789ab.partial",
        ]
        for name in stale + kept { try plant(name) }
        try plant(".tokens.bmt.fedcba987654.partial", old: false)
        // A live writer's file, however old, keeps its lock.
        let live = try AtomicFile(destination: destination)
        try FileManager.default.setAttributes(aMinuteAgo, ofItemAtPath: live.temporaryPath)
        defer { live.abandon() }

        let removed = StaleTemporaryFiles.sweep(besides: destination)
        #expect(removed.sorted() == stale.map { "\(folder)/\($0)" }.sorted())
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        let liveName = String(live.temporaryPath.split(separator: "/").last ?? "")
        #expect(left == Set(kept + [".tokens.bmt.fedcba987654.partial", liveName]))
    }
}
