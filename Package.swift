// swift-tools-version: 6.1
import PackageDescription

// Dependencies point one way: C modules <- TensorCore / ImageCodecs <- deltaflow (CLI).
// Nothing depends on the CLI target.
let package = Package(
    name: "deltaflow",
    products: [
        .executable(name: "deltaflow", targets: ["deltaflow"]),
        .library(name: "ImageCodecs", targets: ["ImageCodecs"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Models", targets: ["Models"]),
        // What a Swift plugin links: the C ABI and a thin Swift layer over it, nothing else.
        .library(name: "DeltaflowPluginSDK", targets: ["DeltaflowPluginSDK"]),
        // For programs that add Swift nodes in-process: the node API and the whole CLI.
        .library(name: "NodeKit", targets: ["NodeKit"]),
        .library(name: "DeltaflowCLI", targets: ["DeltaflowCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries, each behind one [system] module and wrapped by exactly one Swift type.
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CJPEG", pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg-dev"])]),
        // Little CMS: ICC profiles, so a Display P3 or Adobe RGB photo is edited in its own colours.
        .systemLibrary(
            name: "CLCMS2", pkgConfig: "lcms2",
            providers: [.apt(["liblcms2-dev"])]),
        // OpenSSL's libcrypto, for SHA-256: what a user trusts (a workflow, a plugin) is named
        // by a digest they can check with sha256sum.
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // libpng and libjpeg report errors with longjmp; this C target keeps every setjmp
        // and every longjmp inside C frames so no Swift frame is ever jumped over. It also holds
        // libtiff's and libwebp's in-memory I/O and metadata glue, behind the same kind of calls.
        // zlib: libpng-dev depends on zlib1g-dev.
        .systemLibrary(
            name: "CTIFF", pkgConfig: "libtiff-4",
            providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(
            name: "CWebP", pkgConfig: "libwebp",
            providers: [.apt(["libwebp-dev"])]),
        .target(
            name: "CCodecGuards", dependencies: ["CPNG", "CJPEG", "CTIFF", "CWebP"],
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("webpdemux"), .linkedLibrary("webpmux")]),

        // "Did you mean …?" for misspelt names; depends on nothing.
        .target(name: "Spelling"),
        // The one shape of a user-facing error (what, where, how to fix); depends on nothing.
        .target(name: "UserFacing"),
        // AVX2/FMA kernels, compiled per function and chosen at run time (the build stays portable).
        .target(name: "CTensorKernels"),
        .target(name: "TensorCore", dependencies: ["CBLAS", "CTensorKernels", "Spelling"]),
        .target(name: "ImageCodecs", dependencies: ["CCodecGuards", "CLCMS2", "UserFacing"]),
        // Networks built from TensorCore layers, loaded from safetensors (weights files found,
        // loaded once and hashed for cache keys).
        .target(name: "Models", dependencies: ["TensorCore", "ImageCodecs", "NodeKit"]),
        // What a node is; the engine knows nodes only through this module.
        .target(name: "NodeKit", dependencies: ["ImageCodecs", "Spelling", "UserFacing"]),
        .target(name: "BuiltinNodes", dependencies: ["NodeKit", "ImageCodecs"]),
        // The model-free exemplar fit (spatial filter, colour step, grain) and the typed delta
        // format it is stored in; no network runs here.
        .target(name: "ExemplarFit", dependencies: ["NodeKit", "ImageCodecs", "TensorCore"]),
        // Nodes backed by models and the exemplar fit (encode_delta, adapter_edit, …).
        .target(name: "ModelNodes", dependencies: ["NodeKit", "ImageCodecs", "Models", "TensorCore", "ExemplarFit"]),
        // The plugin ABI: one C header (plus compile-time layout checks) shared by the host,
        // the Swift SDK and plugins in any language.
        .target(name: "CDeltaflowPlugin"),
        .target(name: "DeltaflowPluginSDK", dependencies: ["CDeltaflowPlugin"]),
        // Loads plugin libraries with dlopen and turns their nodes into NodeKit nodes.
        .target(name: "PluginHost", dependencies: ["CDeltaflowPlugin", "NodeKit", "ImageCodecs", "UserFacing"]),
        .target(
            name: "Workflow",
            dependencies: ["NodeKit", "ImageCodecs", "Spelling", .product(name: "Yams", package: "Yams")]),
        // The command line as a library: a program of your own adds Swift nodes and calls
        // DeltaflowCLI.main(nodes:). The deltaflow executable is exactly that, with no extras.
        .target(
            name: "DeltaflowCLI",
            dependencies: [
                "ImageCodecs", "NodeKit", "Workflow", "BuiltinNodes", "ModelNodes", "Models", "TensorCore", "Spelling",
                "ExemplarFit", "CCrypto",
                "PluginHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "deltaflow", dependencies: ["DeltaflowCLI"]),
        // The parsers of untrusted input as fuzz targets; Tests/Fuzz/run builds the driver with libFuzzer.
        .target(
            name: "FuzzTargets",
            dependencies: ["Workflow", "BuiltinNodes", "ModelNodes", "NodeKit", "ImageCodecs", "TensorCore"]),
        .target(name: "CLibFuzzer"),
        .executableTarget(name: "deltaflow-fuzz", dependencies: ["FuzzTargets", "CLibFuzzer"]),
        // The worked example of in-process Swift nodes (README, "Custom nodes"); built and run by CLITests.
        .executableTarget(
            name: "deltaflow-custom-example", dependencies: ["DeltaflowCLI", "NodeKit", "ImageCodecs"],
            path: "Plugins/in-process"),

        .testTarget(
            name: "ImageCodecsTests", dependencies: ["ImageCodecs"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"], resources: [.copy("Goldens")]),
        .testTarget(
            name: "ModelsTests", dependencies: ["Models", "TensorCore", "NodeKit"], resources: [.copy("Goldens")]),
        .testTarget(
            name: "WorkflowTests",
            dependencies: ["Workflow", "BuiltinNodes", "ModelNodes", "Models", "NodeKit", "ImageCodecs"]),
        // Helpers the test targets share (example photos, edits made by hand).
        .target(
            name: "TestSupport", dependencies: ["ExemplarFit", "ImageCodecs", "NodeKit", "TensorCore"],
            path: "Tests/TestSupport"),
        .testTarget(
            name: "ExemplarFitTests",
            dependencies: ["ExemplarFit", "TestSupport", "NodeKit", "ImageCodecs", "TensorCore"],
            resources: [.copy("Goldens")]),
        .testTarget(
            name: "ModelNodesTests",
            dependencies: [
                "ModelNodes", "ExemplarFit", "TestSupport", "BuiltinNodes", "Models", "Workflow", "NodeKit",
                "ImageCodecs",
            ]),
        // Builds the example plugins and misbehaving ones (Fixtures, C) with the system's
        // compilers, then loads them.
        .testTarget(
            name: "PluginHostTests",
            dependencies: ["PluginHost", "Workflow", "BuiltinNodes", "NodeKit", "ImageCodecs"],
            exclude: ["Fixtures"]),
        // Runs the built executable as a user would; depends on it only to have it built first.
        .testTarget(
            name: "CLITests", dependencies: ["deltaflow", "deltaflow-custom-example"]),
        .testTarget(
            name: "FuzzTests", dependencies: ["FuzzTargets"], path: "Tests/Fuzz",
            exclude: ["Corpus", "run", "README.md", "toolset.json", "workflow.dict", "png.dict"]),

        .executableTarget(
            name: "codec-bench", dependencies: ["ImageCodecs"],
            path: "Benchmarks/CodecBench"),
        .executableTarget(
            name: "tensor-bench", dependencies: ["TensorCore", "Models", "ExemplarFit"],
            path: "Benchmarks/TensorBench"),
    ],
    swiftLanguageModes: [.v6]
)
