import ArgumentParser
import Foundation
import ImageCodecs
import NodeKit
import PluginHost
import Workflow

/// What a workflow may do beyond image processing, once its user allows it.
enum Permission: String, CaseIterable, Sendable {
    /// Run the programs of its `exec` nodes.
    case exec
    /// Load the plugin libraries its `plugins:` names (outside the user's own plugin directories).
    case plugins
    /// Write outside the directories the user named with `--set`.
    case writes
}

/// `--allow exec,plugins,writes`: consent for this run.
struct ConsentOptions: ParsableArguments {
    @Option(
        name: .customLong("allow"),
        help: ArgumentHelp(
            "Let the workflow run programs (exec), load its plugins (plugins) or write outside the directories you name (writes); comma-separated, or all.",
            discussion: "'deltaflow allow FILE' allows a workflow once, until the file changes.",
            valueName: "what"))
    var allow: [String] = []

    func validate() throws { _ = try permissions() }

    func permissions() throws -> Set<Permission> {
        var found: Set<Permission> = []
        for word in allow.flatMap({ $0.split(separator: ",") }).map(String.init) {
            if word == "all" {
                found.formUnion(Permission.allCases)
            } else if let permission = Permission(rawValue: word) {
                found.insert(permission)
            } else {
                throw ValidationError(
                    "--allow \(word): allow one of exec, plugins, writes (comma-separated), or all")
            }
        }
        return found
    }
}

/// What a workflow does and what its user allows it: from `--allow`, or from a trust record
/// written by `deltaflow allow` for exactly this file's contents and plugins.
struct Consent {
    let file: String
    /// The file's text, read once: what is surveyed, trusted and then validated and run, so a
    /// file changed in between cannot slip past the consent.
    let source: String
    /// Its text and its sub-workflows', read once, as `source` is.
    let sources = WorkflowSources()
    let capabilities: WorkflowCapabilities
    let searchPath: PluginSearchPath
    /// Libraries of `plugins:` outside the user's own `--plugins` and `$DELTAFLOW_PLUGIN_PATH`
    /// directories: the ones that need consent.
    let foreignPlugins: Set<String>
    private(set) var allowed: Set<Permission>
    private(set) var trusted: Bool

    /// Reads and surveys `file` (its syntax only: nothing of it is loaded or run) and reads the
    /// trust record.
    init(file: String, registry: NodeRegistry, plugins: PluginOptions, options: ConsentOptions, json: Bool = false)
        throws
    {
        self.file = file
        searchPath = plugins.searchPath
        do {
            source = try sources.text(at: file)
            capabilities = try Workflow.survey(
                source, file: file, registry: registry, plugins: searchPath, sources: sources)
        } catch {
            report(error, json: json)
            throw ExitCode.failure
        }
        let own = searchPath.directories.map { WriteConfinement.resolved($0) }
        foreignPlugins = Set(
            capabilities.plugins.compactMap(\.path).filter { path in
                !own.contains((WriteConfinement.resolved(path) as NSString).deletingLastPathComponent)
            })
        trusted = false
        allowed = try options.permissions()
        if TrustStore().trusts(self) { trust() }
    }

    /// Everything allowed, as a trust record allows it.
    mutating func trust() {
        trusted = true
        allowed = Set(Permission.allCases)
    }

    /// What the workflow needs that its user has not allowed.
    var missing: [Permission] {
        var needed: [Permission] = []
        if !capabilities.programs.isEmpty && !allowed.contains(.exec) { needed.append(.exec) }
        if !foreignPlugins.isEmpty && !allowed.contains(.plugins) { needed.append(.plugins) }
        return needed
    }

    /// Loads plugins only where allowed; the rest are reported as not allowed, not loaded.
    var resolver: any PluginResolver {
        ConsentingResolver(searchPath: searchPath, foreign: allowed.contains(.plugins) ? [] : foreignPlugins)
    }

    /// Refuses (exit 5) a workflow that needs what its user has not allowed, saying what and how.
    func require(json: Bool = false) throws {
        let needed = missing
        guard !needed.isEmpty else { return }
        let doing = needed.map { $0 == .exec ? "runs programs" : "loads plugins (native code)" }
        let details = listing(only: Set(needed))
        if json {
            printJSON([
                "event": "error", "code": "not_allowed", "needs": needed.map(\.rawValue),
                "message": "\(file) \(doing.joined(separator: " and ")), which you have not allowed",
                "details": details.map { $0.trimmingCharacters(in: .whitespaces) },
            ])
        }
        printError("error: \(file) \(doing.joined(separator: " and ")), which you have not allowed:")
        for line in details { printError(line) }
        printError(
            """
            a workflow runs with your rights: read it first ('deltaflow validate \(file)' lists what it does). If you trust it:
              this run:                    add --allow \(needed.map(\.rawValue).joined(separator: ","))
              until the file changes:      deltaflow allow \(file)
            """)
        throw notAllowed
    }

    /// The lines listing what the workflow does, for `validate`, `--dry-run` and refusals.
    func listing(only: Set<Permission>? = nil) -> [String] {
        var lines: [String] = []
        let plain = only == nil
        if only?.contains(.exec) ?? !capabilities.programs.isEmpty {
            let state = allowed.contains(.exec) ? "allowed" : "needs --allow exec"
            if plain { lines.append("runs programs (\(state)):") }
            for program in capabilities.programs {
                lines.append("  node '\(program.node)': \(program.command)  [\(program.location)]")
            }
        }
        if only?.contains(.plugins) ?? !capabilities.plugins.isEmpty {
            if plain {
                let state = foreignPlugins.isEmpty || allowed.contains(.plugins) ? "allowed" : "needs --allow plugins"
                lines.append("loads plugins (\(state)):")
            }
            for plugin in capabilities.plugins where plain || plugin.path.map(foreignPlugins.contains) == true {
                let found =
                    plugin.path.map { path in
                        "\(path), sha256 \(SHA256.hex(file: path) ?? "unreadable")"
                            + (foreignPlugins.contains(path) ? "" : " (your plugin directory)")
                    } ?? "not found: \(plugin.problem ?? "")"
                lines.append("  \(plugin.reference): \(found)  [\(plugin.location)]")
            }
        }
        if plain {
            func accesses(_ list: [WorkflowCapabilities.Access]) -> String {
                list.map { "\($0.value) (\($0.node).\($0.port))" }.joined(separator: ", ")
            }
            if !capabilities.reads.isEmpty { lines.append("reads: \(accesses(capabilities.reads))") }
            if !capabilities.writes.isEmpty {
                let declared =
                    capabilities.declaredWrites.isEmpty
                    ? "" : " and its own \(capabilities.declaredWrites.joined(separator: ", "))"
                let confined =
                    allowed.contains(.writes)
                    ? "anywhere (allowed)" : "only under the directories you name with --set\(declared)"
                lines.append("writes: \(accesses(capabilities.writes)) — \(confined)")
            }
            if trusted { lines.append("allowed by 'deltaflow allow' for this exact file") }
        }
        return lines
    }

    /// Where a run of this workflow may write: under the path and directory params the user
    /// set on the command line (every folder swept over among them) and the folders the
    /// workflow declares, never in the cache.
    func confinement(
        _ workflow: Workflow, overrides: [String], sweep: [SweepAxis] = [], cacheDirectory: String
    ) -> WriteConfinement? {
        if allowed.contains(.writes) { return nil }
        // NAME=VALUE as given, the last of a name winning as when params are bound; a swept param
        // gives each of its values.
        var given: [String: [String]] = [:]
        for override in overrides {
            let parts = override.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { given[String(parts[0])] = [String(parts[1])] }
        }
        for axis in sweep { given[axis.name] = axis.values.map(\.text) }
        let roots = workflow.params.filter { $0.type == .path }.flatMap { given[$0.name] ?? [] }
            .map { ($0 as NSString).expandingTildeInPath }
        return WriteConfinement(roots: roots + workflow.declaredWrites, excluded: [cacheDirectory])
    }
}

/// Exit code for a workflow refused because it needs what its user has not allowed.
let notAllowed = ExitCode(5)

/// The plugin search path, refusing to load the libraries in `foreign`.
private struct ConsentingResolver: PluginResolver {
    let searchPath: PluginSearchPath
    let foreign: Set<String>

    func locate(_ reference: String, relativeTo directory: String) throws -> String {
        try searchPath.locate(reference, relativeTo: directory)
    }

    func plugin(_ reference: String, relativeTo directory: String) throws -> (origin: String, nodes: [any Node]) {
        let path = try locate(reference, relativeTo: directory)
        if foreign.contains(path) { throw PluginNotAllowed(path: path) }
        return try searchPath.plugin(reference, relativeTo: directory)
    }
}

/// Trust records, like direnv's: one file per workflow path holding the SHA-256 of its contents
/// and of every plugin library it loads; any change makes it a stranger again.
struct TrustStore {
    let directory: String

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let explicit = environment["DELTAFLOW_TRUST_DIR"], !explicit.isEmpty {
            directory = explicit
        } else if let data = environment["XDG_DATA_HOME"], !data.isEmpty {
            directory = data + "/deltaflow/trusted"
        } else {
            directory = NSHomeDirectory() + "/.local/share/deltaflow/trusted"
        }
    }

    private func recordPath(_ file: String) -> String {
        directory + "/" + SHA256.hex(Data(WriteConfinement.resolved(file).utf8))
    }

    /// The record a workflow would need: its path, the digest of the text read, and its
    /// plugins' digests.
    private func record(_ consent: Consent) -> String {
        var lines = [
            "workflow \(WriteConfinement.resolved(consent.file))", "sha256 \(SHA256.hex(Array(consent.source.utf8)))",
        ]
        // A library it uses changed is a changed workflow.
        for (path, text) in consent.sources.all.sorted(by: { $0.key < $1.key }) where path != consent.file {
            lines.append("uses \(WriteConfinement.resolved(path)) sha256 \(SHA256.hex(Array(text.utf8)))")
        }
        for path in Set(consent.capabilities.plugins.compactMap(\.path)).sorted() {
            lines.append("plugin \(WriteConfinement.resolved(path)) sha256 \(SHA256.hex(file: path) ?? "unreadable")")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func trusts(_ consent: Consent) -> Bool {
        guard let stored = FileManager.default.contents(atPath: recordPath(consent.file)) else { return false }
        return String(decoding: stored, as: UTF8.self) == record(consent)
    }

    func allow(_ consent: Consent) throws {
        try AtomicFile.createDirectories(directory)
        try AtomicFile.write(Array(record(consent).utf8), to: recordPath(consent.file))
    }

    /// Removes `file`'s record; false when there was none.
    func revoke(_ file: String) throws -> Bool {
        let path = recordPath(file)
        guard FileManager.default.fileExists(atPath: path) else { return false }
        try FileManager.default.removeItem(atPath: path)
        return true
    }
}

struct AllowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allow",
        abstract: "Trust a workflow to run its programs, load its plugins and write anywhere, until it changes.",
        discussion: """
            Like direnv's allow: deltaflow records the SHA-256 of the file and of every plugin library it \
            loads; when either changes, the workflow must be allowed again. Read the workflow first: \
            'deltaflow validate FILE' lists what it does.
            """)

    @Argument(help: "The workflow file.")
    var file: String

    @Flag(help: "Withdraw the trust instead.")
    var revoke = false

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        let store = TrustStore()
        if revoke {
            print(try store.revoke(file) ? "\(file): no longer allowed" : "\(file) was not allowed")
            return
        }
        var consent = try Consent(
            file: file, registry: standardRegistry(plugins: plugins), plugins: plugins,
            options: try ConsentOptions.parse([]))
        try store.allow(consent)
        consent.trust()
        print("\(file): allowed until it (or a plugin it loads) changes; what it does:")
        for line in consent.listing() { print("  " + line) }
    }
}

/// `--sandbox`: bubblewrap, after checking it can make a sandbox here (a kernel without
/// unprivileged user namespaces, or a container that forbids them, cannot).
func programSandbox() throws -> ProgramSandbox {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { "\($0)/bwrap" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let path else {
        printError(
            "error: --sandbox runs programs inside bubblewrap, which is not installed (Debian: apt install bubblewrap)")
        throw ExitCode.failure
    }
    let sandbox = ProgramSandbox(bubblewrap: path)
    let probe = Process()
    let (executable, arguments) = sandbox.wrap("/bin/true", [], writable: FileManager.default.temporaryDirectory.path)
    probe.executableURL = URL(fileURLWithPath: executable)
    probe.arguments = arguments
    let errors = Pipe()
    probe.standardError = errors
    do {
        try probe.run()
        probe.waitUntilExit()
    } catch {
        printError("error: --sandbox: cannot start \(path): \(error)")
        throw ExitCode.failure
    }
    guard probe.terminationStatus == 0 else {
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        printError(
            """
            error: --sandbox: bubblewrap cannot make a sandbox on this machine (\(said)); the kernel or the \
            container does not allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, \
            or a container run with them allowed). Nothing was run; without --sandbox, programs run unconfined.
            """)
        throw ExitCode.failure
    }
    return sandbox
}
