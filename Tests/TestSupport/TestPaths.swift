import XCTest
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where tests find committed fixtures and the public assets fetched by scripts/fetch-assets.sh.
public enum TestPaths {
    /// The package root, found from this file's location (Tests/TestSupport/TestPaths.swift).
    public static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    /// Committed small files: Tests/Fixtures/<name>.
    public static func fixture(_ name: String) -> String { packageRoot + "/Tests/Fixtures/" + name }

    /// The fetched public assets (tokenizers, the SmolLM2 GGUF): $SLIDEFORMER_ASSETS or .cache/assets.
    public static var assetsRoot: String {
        ProcessInfo.processInfo.environment["SLIDEFORMER_ASSETS"] ?? packageRoot + "/.cache/assets"
    }

    /// The path of a fetched asset, or an XCTSkip that says how to fetch it.
    public static func asset(_ relative: String) throws -> String {
        let p = assetsRoot + "/" + relative
        guard FileManager.default.fileExists(atPath: p) else {
            throw XCTSkip("asset \(relative) not found under \(assetsRoot): run scripts/fetch-assets.sh")
        }
        return p
    }

    /// A fresh empty folder under the system temporary directory, removed when the test bundle
    /// has finished.
    public static func temporaryDirectory(_ tag: String = "test") throws -> String {
        let p = FileManager.default.temporaryDirectory.path + "/slideformer-\(tag)-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        TemporaryDirectories.shared.add(p)
        return p
    }
}

/// The folders `TestPaths.temporaryDirectory` made, removed at the end of the test bundle.
final class TemporaryDirectories: NSObject, XCTestObservation, @unchecked Sendable {
    static let shared: TemporaryDirectories = {
        let t = TemporaryDirectories()
        XCTestObservationCenter.shared.addTestObserver(t)
        return t
    }()

    private let lock = NSLock()
    private var paths: [String] = []

    func add(_ path: String) {
        lock.lock()
        paths.append(path)
        lock.unlock()
    }

    func testBundleDidFinish(_ testBundle: Bundle) {
        lock.lock()
        let made = paths
        paths.removeAll()
        lock.unlock()
        for p in made { try? FileManager.default.removeItem(atPath: p) }
    }
}
