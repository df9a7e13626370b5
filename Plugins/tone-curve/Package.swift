// swift-tools-version: 6.1
// An example deltaflow plugin in Swift, built on its own against deltaflow's plugin SDK:
//   swift build -c release --package-path Plugins/tone-curve
//   deltaflow run workflow.yaml --plugins Plugins/tone-curve/.build/release
import PackageDescription

let package = Package(
    name: "tone-curve",
    products: [
        // A dynamic library: deltaflow loads it at run time with dlopen.
        .library(name: "ToneCurvePlugin", type: .dynamic, targets: ["ToneCurvePlugin"])
    ],
    dependencies: [
        // A plugin elsewhere would name deltaflow's repository here instead of a path.
        .package(name: "deltaflow", path: "../..")
    ],
    targets: [
        .target(name: "ToneCurvePlugin", dependencies: [.product(name: "DeltaflowPluginSDK", package: "deltaflow")])
    ]
)
