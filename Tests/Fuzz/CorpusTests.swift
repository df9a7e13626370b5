import Foundation
import FuzzTargets
import Testing

/// Every committed fuzz input — the seeds, what fuzzing found interesting, and every input that
/// once crashed (Corpus/<target>/regressions) — replayed through the fuzz targets on each test run.
@Suite("Fuzz corpus")
struct CorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static func files(_ target: FuzzTarget) -> [URL] {
        let root = corpus.appendingPathComponent(target.rawValue)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        else { return [] }
        return walker.compactMap { $0 as? URL }
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .sorted { $0.path < $1.path }
    }

    @Test("Each target has a seed corpus", arguments: FuzzTarget.allCases)
    func seeded(target: FuzzTarget) {
        #expect(Self.files(target).count >= 5, "Tests/Fuzz/Corpus/\(target.rawValue)")
    }

    @Test("Every corpus input runs without crashing or breaking a property", arguments: FuzzTarget.allCases)
    func replay(target: FuzzTarget) throws {
        for file in Self.files(target) {
            let violations = target.run([UInt8](try Data(contentsOf: file)))
            #expect(violations.isEmpty, "\(file.path): \(violations)")
        }
    }
}
