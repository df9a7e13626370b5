import UserFacing

/// Why a plugin could not be loaded: what went wrong, with which file, and what to do.
public struct PluginError: UserFacingError, Equatable {
    public enum Code: String, Sendable {
        /// No file at the path, or nothing by that name on the plugin search path.
        case notFound = "plugin_not_found"
        /// dlopen refused the file (not a shared library, missing dependency, wrong architecture).
        case notALibrary = "not_a_library"
        /// A shared library without the `deltaflow_plugin` entry point.
        case notAPlugin = "not_a_plugin"
        /// Built for a different plugin ABI version.
        case abiMismatch = "abi_mismatch"
        /// The entry point returned NULL.
        case declined = "plugin_declined"
        /// The plugin's description of itself breaks the ABI's rules.
        case badDescriptor = "bad_descriptor"
        /// One of its node kinds is already provided by deltaflow or another plugin.
        case duplicateKind = "duplicate_kind"
    }

    public let code: Code
    /// The library's path.
    public let path: String
    /// What went wrong.
    public let reason: String
    public let help: String?

    public init(_ code: Code, path: String, _ message: String, help: String? = nil) {
        self.code = code
        self.path = path
        self.reason = message
        self.help = help
    }

    public var location: String? { path }
}
