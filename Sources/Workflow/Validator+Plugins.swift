import Foundation
import NodeKit
import Spelling

extension Validator {
    /// Loads each plugin of the `plugins:` list and adds its node kinds, reporting a plugin
    /// that cannot load, or that clashes with kinds already known, at its entry.
    mutating func loadPlugins(_ entry: SyntaxEntry?) {
        guard let entry else { return }
        guard case .sequence(let items, _) = entry.value else {
            error(
                "bad_value", "'plugins' must be a list of plugin libraries, e.g. [plugins/libstudio.so]",
                at: entry.value.location)
            return
        }
        guard let plugins else {
            error(
                "plugins_unavailable", "this program does not load plugins", at: entry.keyLocation,
                help: "run the workflow with the deltaflow command")
            return
        }
        let directory = (file as NSString).deletingLastPathComponent
        for item in items {
            guard let reference = item.stringValue, !reference.isEmpty else {
                error("bad_value", "a plugin is named by a path or a name, not \(item.kindName)", at: item.location)
                continue
            }
            let loaded: (origin: String, nodes: [any Node])
            do {
                loaded = try plugins.plugin(reference, relativeTo: directory.isEmpty ? "." : directory)
            } catch let refusal as PluginNotAllowed {
                self.error(
                    "plugin_not_allowed",
                    "plugin '\(reference)' (\(refusal.path)) was not loaded: it is native code, which runs with your rights, "
                        + "and this workflow has not been allowed to load it",
                    at: item.location,
                    help: "if you trust it: --allow plugins, or once for this file: deltaflow allow \(file)")
                failedPlugins.append(diagnostics.count - 1)
                continue
            } catch {
                self.error(
                    "plugin_load_failed", "cannot load plugin '\(reference)': \(error)", at: item.location,
                    help: "'deltaflow plugins --plugins DIR' lists what loads and why the rest does not")
                failedPlugins.append(diagnostics.count - 1)
                continue
            }
            // Already loaded (from --plugins or an earlier entry): nothing new to add.
            if let first = loaded.nodes.first, registry.origin(of: first.descriptor.kind) == loaded.origin { continue }
            do {
                try registry.register(all: loaded.nodes, origin: loaded.origin)
            } catch {
                self.error(
                    "duplicate_node_kind", "plugin '\(reference)' cannot be used: \(error.message)", at: item.location,
                    help: "two plugins provide the same node kind; keep one of them")
            }
        }
    }
}
