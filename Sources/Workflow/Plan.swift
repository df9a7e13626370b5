import Foundation
import NodeKit

/// What a run would do, worked out without running anything costly or anything with side effects.
public struct Plan: Sendable {
    public enum Step: Sendable, Equatable {
        /// A cheap node that runs once (it was run to work out the plan).
        case once
        /// A cacheable node whose result is in the cache.
        case cached(key: String)
        /// A node that will be computed: a cacheable node that is not cached, a node with side
        /// effects, or one that depends on such a node.
        case willCompute(reason: String)
        case perItem
        /// A node that runs once, left out by its `when:` (or by what it reads).
        case leftOut(reason: String)
    }

    public let steps: [(node: WorkflowNode, step: Step)]
    /// nil when the directory depends on something only a real run computes.
    public let itemCount: Int?
}

extension Executor {
    /// The plan of this run. Nodes that run once are evaluated only when they are cheap and
    /// harmless: cacheable nodes are looked up in the cache instead of computed, and nodes with
    /// side effects never run.
    public func plan() throws(RunError) -> Plan {
        var shared: [String: [String: Value]] = [:]
        var skipped = Set<String>()
        var steps: [(WorkflowNode, Plan.Step)] = []
        for node in workflow.nodes {
            if node.scope == .perItem {
                steps.append((node, .perItem))
                continue
            }
            if let missing = node.dependencies.first(where: { shared[$0] == nil }) {
                steps.append((node, .willCompute(reason: "needs '\(missing)'")))
                continue
            }
            if node.node.descriptor.hasSideEffects {
                steps.append((node, .willCompute(reason: "writes files")))
                continue
            }
            do {
                if case .skip(let fallback, let reason) = try gate(
                    node, item: nil, shared: shared, local: [:], skipped: skipped)
                {
                    shared[node.name] = fallback
                    skipped.insert(node.name)
                    steps.append((node, .leftOut(reason: reason)))
                    continue
                }
                let inputs = try evaluateInputs(of: node, item: nil, shared: shared, local: [:])
                if node.node.descriptor.cacheable {
                    let key = ResultCache.key(for: node.node, inputs: inputs)
                    if let cache = options.cache, case .hit(let stored) = cache.load(key, readOnly: true),
                        let values = try? checked(node, stored)
                    {
                        shared[node.name] = values
                        steps.append((node, .cached(key: key)))
                    } else {
                        steps.append(
                            (node, .willCompute(reason: options.cache == nil ? "cache disabled" : "not in the cache")))
                    }
                    continue
                }
                let context = NodeContext(
                    item: nil, seed: Seeds.seed(workflow: workflow.seed, relativePath: nil, node: node.name))
                shared[node.name] = try checked(node, try node.node.run(NodeInputs(inputs), context: context))
                steps.append((node, .once))
            } catch {
                throw RunError(message: "node '\(node.name)' (\(node.kind)) failed: \(error)", location: node.location)
            }
        }
        // The directory may come from a node that the plan did not run; then the count is unknown.
        let known =
            workflow.iterator?.iteration?.directory.references
            .allSatisfy { $0.port == nil || shared[$0.name] != nil } ?? true
        guard known else { return Plan(steps: steps, itemCount: nil) }
        let items = try pair(try listItems(shared: shared), shared: shared).items
        try refusePlannedWrites(items, shared: shared)
        return Plan(steps: steps, itemCount: items.filter { options.shard?.contains($0.relativePath) ?? true }.count)
    }
}
