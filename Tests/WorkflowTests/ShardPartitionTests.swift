import Testing

@testable import Workflow

@Suite("Shard partition")
struct ShardPartitionTests {
    private let paths = (0..<3000).map { "shoot-\($0 / 100)/IMG_\(String(format: "%04d", $0)).JPG" }

    @Test("Every path is in exactly one shard, and shards are near equal in size", arguments: [1, 2, 3, 7, 64])
    func partition(count: Int) throws {
        let shards = try (0..<count).map { try Shard(index: $0, count: count) }
        var sizes = Array(repeating: 0, count: count)
        for path in paths {
            let owners = shards.filter { $0.contains(path) }
            #expect(owners.count == 1, "\(path)")
            sizes[owners[0].index] += 1
        }
        let mean = Double(paths.count) / Double(count)
        // Binomial spread: 5 standard deviations is never reached by chance with a good hash.
        let allowed = 5 * (mean * (1 - 1 / Double(count))).squareRoot()
        #expect(sizes.allSatisfy { abs(Double($0) - mean) <= allowed }, "\(sizes)")
    }

    /// The hash is a contract between workers of different versions and machines: pinned here,
    /// with values from the independent Python version in Examples/cluster/README.md.
    @Test("The shard of a path never changes")
    func pinned() throws {
        let owners = try ["a.png", "IMG_0001.JPG", "shoot/2026/ümlaut.jpg", ""].map { path in
            try (0..<8).first { try Shard(index: $0, count: 8).contains(path) }!
        }
        #expect(owners == [1, 2, 7, 0])
    }

    @Test("K/N parses; everything else is refused with what to write")
    func parsing() throws {
        #expect(try Shard(parsing: "2/5") == Shard(index: 2, count: 5))
        #expect(try Shard(parsing: " 0 / 1 ") == Shard(index: 0, count: 1))
        for bad in ["5/5", "1/0", "a/b", "3", "1/2/3", ""] {
            #expect(throws: Shard.Invalid.self, "\(bad)") { try Shard(parsing: bad) }
        }
    }
}
