import BuiltinNodes
import NodeKit

/// The model-backed node kinds, and the registry the CLI runs with: built-ins plus these.
public enum ModelNodes {
    /// Nodes whose models live in `modelsDirectory` (see ``Models/ModelFiles``); weights are
    /// loaded on first use, so listing or validating never reads them.
    public static func nodes(modelsDirectory: String) -> [any Node] {
        let edit = EditWeights(directory: modelsDirectory)
        return [EncodeDeltaNode(weights: EncoderWeights(directory: modelsDirectory), editWeights: edit), DeltaCombineNode(), ColorTransferNode(),
                PredictMaskNode(weights: edit), AdapterEditNode(weights: edit)]
    }

    public static func registry(modelsDirectory: String) -> NodeRegistry {
        // Built-in kinds are distinct by construction; a clash is a programming error.
        try! NodeRegistry(Builtins.nodes + nodes(modelsDirectory: modelsDirectory))
    }
}
