import Foundation
import NodeKit

/// One of `count` disjoint parts of a run's items, for running a batch on several machines:
/// worker `index` of `count` (0-based) takes the items whose key hashes to `index`.
///
/// The hash is part of the contract and must never change: FNV-1a (64-bit) of the item's
/// relative path in UTF-8, mixed by SplitMix64, modulo `count`. It depends only on the path, so
/// every worker agrees without talking to the others, whatever order or machine it lists in,
/// and a file added to the directory does not move any other file to another shard.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(index: Int, count: Int) throws(Invalid) {
        guard count >= 1 else { throw Invalid(description: "the shard count must be at least 1, not \(count)") }
        guard (0..<count).contains(index) else {
            throw Invalid(
                description: "shard \(index) does not exist: with \(count) shards the index is 0 to \(count - 1) "
                    + "(JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID from --array=0-\(count - 1) count from 0)")
        }
        self.index = index
        self.count = count
    }

    /// "K/N", as `--shard` takes it.
    public init(parsing text: String) throws(Invalid) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
            let index = Int(parts[0].trimmingCharacters(in: .whitespaces)),
            let count = Int(parts[1].trimmingCharacters(in: .whitespaces))
        else {
            throw Invalid(description: "'\(text)' is not a shard; write INDEX/COUNT with INDEX from 0, e.g. 0/4")
        }
        try self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    public func contains(_ relativePath: String) -> Bool {
        Int(SeededRandom.mix(Seeds.hash(relativePath)) % UInt64(count)) == index
    }
}
