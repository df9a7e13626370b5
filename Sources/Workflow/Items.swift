import Foundation
import Glibc
import NodeKit

/// glibc's FNM_CASEFOLD, which Swift does not import because it is a GNU extension.
private let caseFold: Int32 = 1 << 4

/// The files a node iterates over: matching, sorted by relative path, symlink loops cut.
enum ItemEnumerator {
    struct Failure: Error { let message: String }

    /// The files `input` names: a directory's matching files, one file as it is, or the
    /// matching files of a glob (`shoot/*.jpg`, `shoot/day*/*`), relative to its fixed part.
    static func items(for input: String, patterns: [String], recursive: Bool) throws(Failure) -> [NodeContext.Item] {
        var info = stat()
        let path = URL(fileURLWithPath: input).standardizedFileURL.path
        guard stat(path, &info) == 0 else {
            // Not there as named: a glob, or a missing directory, which items(in:) explains.
            return isGlob(input)
                ? try globbed(input, patterns: patterns)
                : try items(in: input, patterns: patterns, recursive: recursive)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            return [NodeContext.Item(path: path, relativePath: URL(fileURLWithPath: path).lastPathComponent, index: 0)]
        }
        return try items(in: input, patterns: patterns, recursive: recursive)
    }

    static func isGlob(_ text: String) -> Bool { text.contains { "*?[".contains($0) } }

    private static func globbed(_ pattern: String, patterns: [String]) throws(Failure) -> [NodeContext.Item] {
        let absolute = URL(fileURLWithPath: pattern).path
        var components = absolute.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let fixed = components.firstIndex(where: isGlob) ?? components.count - 1
        components.removeSubrange(fixed...)
        let root = components.joined(separator: "/")
        var result = glob_t()
        defer { globfree(&result) }
        var (found, files) = ([String](), 0)
        if glob(absolute, 0, nil, &result) == 0 {
            for index in 0..<Int(result.gl_pathc) {
                guard let match = result.gl_pathv[index].map({ String(cString: $0) }) else { continue }
                var info = stat()
                guard stat(match, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR else { continue }
                files += 1
                let relative = String(match.dropFirst(root.count + 1))
                let name = URL(fileURLWithPath: match).lastPathComponent
                if matches(name, relative, patterns) { found.append(relative) }
            }
        }
        guard !found.isEmpty else {
            let wanted = patterns.joined(separator: ", ")
            throw Failure(
                message: files == 0
                    ? "no file matches \(pattern)"
                    : "\(files) file\(files == 1 ? "" : "s") match\(files == 1 ? "es" : "") \(pattern), but none the node's pattern (\(wanted)); change one of them"
            )
        }
        found.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return found.enumerated().map { index, relative in
            NodeContext.Item(path: root + "/" + relative, relativePath: relative, index: index)
        }
    }

    static func items(in directory: String, patterns: [String], recursive: Bool) throws(Failure) -> [NodeContext.Item] {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        var info = stat()
        guard stat(root, &info) == 0 else {
            throw Failure(message: "cannot read \(directory): no such file or directory")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw Failure(message: "\(directory) is not a directory") }
        var found: [String] = []
        var visited: Set<[UInt64]> = [[UInt64(info.st_dev), UInt64(info.st_ino)]]
        walk(root, relative: "", patterns: patterns, recursive: recursive, visited: &visited, into: &found)
        // Byte order, not locale order: the same on every machine, so item indices and seeds are too.
        found.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return found.enumerated().map { index, relative in
            NodeContext.Item(path: root + "/" + relative, relativePath: relative, index: index)
        }
    }

    private static func walk(
        _ directory: String, relative: String, patterns: [String], recursive: Bool,
        visited: inout Set<[UInt64]>, into found: inout [String]
    ) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where !name.hasPrefix(".") {
            let path = directory + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            // stat follows symlinks: a link to a photo counts as the photo; a broken link is
            // listed so that its item fails with a reason instead of vanishing silently.
            guard stat(path, &info) == 0 else {
                if matches(name, relativePath, patterns) { found.append(relativePath) }
                continue
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                // A directory reached twice (a symlink loop) is walked once.
                if recursive, visited.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted {
                    walk(
                        path, relative: relativePath, patterns: patterns, recursive: true, visited: &visited,
                        into: &found)
                }
            } else if matches(name, relativePath, patterns) {
                found.append(relativePath)
            }
        }
    }

    /// What a directory holds when none of its files matched: how many files of each extension
    /// (lowercased, "" for none; hidden files left out), and how many would match in its
    /// subdirectories when the walk was not recursive.
    static func survey(_ directory: String, patterns: [String], recursive: Bool) -> (
        extensions: [String: Int], deeper: Int
    ) {
        var extensions: [String: Int] = [:]
        var deeper: [String] = []
        var visited: Set<[UInt64]> = []
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where !name.hasPrefix(".") {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                if !recursive {
                    walk(
                        directory + "/" + name, relative: name, patterns: patterns, recursive: true,
                        visited: &visited, into: &deeper)
                }
            } else {
                extensions[URL(fileURLWithPath: name).pathExtension.lowercased(), default: 0] += 1
            }
        }
        return (extensions, deeper.count)
    }

    /// Patterns without '/' match the file name, case-insensitively (IMG_1.JPG matches *.jpg);
    /// patterns with '/' match the relative path.
    static func matches(_ name: String, _ relativePath: String, _ patterns: [String]) -> Bool {
        patterns.contains { pattern in
            pattern.contains("/")
                ? fnmatch(pattern, relativePath, FNM_PATHNAME | caseFold) == 0
                : fnmatch(pattern, name, caseFold) == 0
        }
    }
}

/// Seeds that depend on what is computed, never on when: SplitMix64 over FNV-1a hashes of
/// the item's relative path and the node's name.
enum Seeds {
    static func hash(_ text: String) -> UInt64 {
        var hasher = ContentHasher()
        hasher.add(text)
        return hasher.fnv1a
    }

    /// The seed of node `node` for the item at `relativePath` (nil: a node that runs once).
    static func seed(workflow: UInt64, relativePath: String?, node: String) -> UInt64 {
        SeededRandom.mix(itemSeed(workflow: workflow, relativePath: relativePath) ^ hash(node))
    }

    /// The seed every node seed of an item derives from; recorded in the run manifest.
    static func itemSeed(workflow: UInt64, relativePath: String?) -> UInt64 {
        SeededRandom.mix(workflow ^ hash(relativePath ?? ""))
    }
}
