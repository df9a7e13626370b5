import BuiltinNodes
import Foundation
import ImageCodecs
import ModelNodes
import NodeKit
import TensorCore
import Workflow

/// The parsers that read what users and strangers hand deltaflow, as fuzz targets: each takes
/// arbitrary bytes, must never crash, hang or leak, and checks the properties it can state.
/// The libFuzzer driver (`deltaflow-fuzz`) and the corpus replay tests call the same function.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case workflow, png, jpeg, tiff, webp, safetensors

    /// Runs one input; returns the properties it broke (a crash is found without help).
    public func run(_ bytes: [UInt8]) -> [String] {
        switch self {
        case .workflow: FuzzTarget.workflow(bytes)
        case .png: FuzzTarget.image(bytes, expecting: .png)
        case .jpeg: FuzzTarget.image(bytes, expecting: .jpeg)
        case .tiff: FuzzTarget.image(bytes, expecting: .tiff)
        case .webp: FuzzTarget.image(bytes, expecting: .webp)
        case .safetensors: FuzzTarget.safetensors(bytes)
        }
    }

    /// Node kinds as the CLI has them (weights are only read when a node runs, never here).
    private static let registry = try! NodeRegistry(Builtins.nodes + ModelNodes.nodes(modelsDirectory: "/nonexistent"))

    /// The sub-workflow fuzzed workflows may use (`workflow: lib.yaml`), itself valid.
    private static let library = """
        version: 1
        params:
          image: {type: image}
          amount: {type: number, default: 0.5, min: 0, max: 2}
        nodes:
          graded: {node: adjust, image: $image, exposure: $amount}
        outputs:
          image: {from: $graded.image, doc: the graded photo}

        """

    private static func workflow(_ bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            let workflow = try Workflow.parse(
                text, file: "fuzz.yaml", registry: registry, sources: WorkflowSources(files: ["lib.yaml": library]))
            for warning in workflow.warnings { _ = warning.rendered(source: text) }
            _ = try? workflow.bindParams([])
            _ = try? workflow.bindSweep([], set: [])
        } catch {
            guard !error.diagnostics.isEmpty else { return ["a workflow was refused without any diagnostic"] }
            for diagnostic in error.diagnostics {
                // A diagnostic in the sub-workflow points into its text.
                let source = error.source(of: diagnostic) ?? text
                _ = diagnostic.rendered(source: source)
                let lineCount = source.sourceLines.count
                if let location = diagnostic.location,
                    location.line < 1 || location.line > lineCount || location.column < 1
                {
                    return [
                        "diagnostic '\(diagnostic.code)' points outside the text: \(location.line):\(location.column)"
                    ]
                }
            }
        }
        return []
    }

    /// Images small enough to round-trip quickly; larger ones are refused by the limit, which is a path to test too.
    private static let options = DecodeOptions(maxPixels: 1 << 20)

    private static func image(_ bytes: [UInt8], expecting format: ImageFormat) -> [String] {
        // Colour-managed, as deltaflow reads photos: an embedded profile of any shape must not
        // crash it. The round trips below need the numbers as stored: converting into and out
        // of a (fuzzed) profile is not exact, and is not meant to be.
        _ = try? ImageFile.decode(bytes, options: options)
        var asStored = options
        asStored.colorManaged = false
        let image: Image
        do {
            image = try ImageFile.decode(bytes, options: asStored)
        } catch let error as ImageError {
            return error.reason.isEmpty ? ["an error without a reason"] : []
        } catch {
            return ["decoding threw \(type(of: error)), not ImageError: \(error)"]
        }
        guard image.width > 0, image.height > 0 else { return ["decoded an image of \(image.width)x\(image.height)"] }
        // What deltaflow decodes it must be able to write, and a PNG must come back sample for sample.
        do {
            let png = try ImageFile.decode(
                try ImageFile.encode(image, options: .png(PNGOptions())), options: asStored)
            if png != image { return ["a decoded \(format) image does not survive a PNG round trip"] }
            let jpeg = try ImageFile.decode(
                try ImageFile.encode(image, options: .jpeg(JPEGOptions())), options: asStored)
            if jpeg.width != image.width || jpeg.height != image.height {
                return ["a JPEG round trip changed the size"]
            }
        } catch {
            return ["re-encoding a decoded image failed: \(error)"]
        }
        return []
    }

    private static func safetensors(_ bytes: [UInt8]) -> [String] {
        // The reader maps files; an unlinked file of this process serves as the input.
        let path = "/tmp/deltaflow-fuzz-\(getpid()).safetensors"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return [] }
        defer { unlink(path) }
        guard let file = try? SafeTensorsFile(path: path) else { return [] }
        for name in file.names {
            guard let entry = file.entries[name], entry.range.count <= 1 << 22 else { continue }
            do {
                let tensor = try file.tensor(name)
                if tensor.shape != entry.shape {
                    return ["tensor '\(name)' has shape \(tensor.shape), header says \(entry.shape)"]
                }
            } catch {
                return ["tensor '\(name)' was listed but cannot be read: \(error)"]
            }
        }
        return []
    }
}
