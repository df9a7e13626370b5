import Models
import NodeKit

/// The node kinds backed by models and the exemplar fit.
public enum ModelNodes {
    /// Nodes whose models live in `modelsDirectory` (see ``Models/ModelFiles``); weights are
    /// loaded on first use, so listing or validating never reads them.
    public static func nodes(modelsDirectory: String) -> [any Node] {
        let edit = EditWeights(directory: modelsDirectory)
        return [
            EncodeDeltaNode(weights: EncoderWeights(directory: modelsDirectory), editWeights: edit), DeltaCombineNode(),
            ColorTransferNode(), PredictMaskNode(weights: edit), AdapterEditNode(weights: edit), ColorGradeNode(),
            SaveLUTNode(),
        ]
    }
}
