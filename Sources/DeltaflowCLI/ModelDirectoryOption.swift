import ArgumentParser
import Models

/// `--models DIR`, for every command that runs a model.
struct ModelDirectoryOption: ParsableArguments {
    @Option(
        name: .customLong("models"),
        help: "Where model weights are; default $DELTAFLOW_MODELS_DIR or ~/.local/share/deltaflow/models.")
    var explicit: String?

    /// The option, else the environment, else the home default.
    var directory: String { ModelFiles.directory(explicit) }
}
