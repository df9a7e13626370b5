import NodeKit

/// Every built-in node kind.
public enum Builtins {
    public static let nodes: [any Node] = [
        LoadNode(), LoadPairsNode(), SaveNode(), ResizeNode(), CompositeNode(), AdjustNode(), GrayscaleNode(),
        FlipNode(), GrainNode(), ToMaskNode(),
        ExecNode(),
    ]

    /// A registry holding the built-ins.
    public static func registry() -> NodeRegistry {
        // The built-in kinds are distinct by construction; a clash is a programming error.
        try! NodeRegistry(nodes)
    }
}
