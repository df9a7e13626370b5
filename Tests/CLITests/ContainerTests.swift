import Foundation
import Testing

/// The Containerfile builds an image that runs the main job like the host does. Building it takes
/// minutes and podman, so the test runs when asked: DELTAFLOW_CONTAINER_TEST=1 (it builds with
/// Examples/container/build-offline.sh, which needs no registry).
@Suite("Container image")
struct ContainerTests {
    static let requested = ProcessInfo.processInfo.environment["DELTAFLOW_CONTAINER_TEST"] == "1"

    @Test(
        "The image runs the bundled workflow on the bundled photos, writing what the host's deltaflow writes",
        .enabled(
            if: requested,
            "builds a container image (3 to 10 minutes, podman and debootstrap): set DELTAFLOW_CONTAINER_TEST=1"))
    func mainJob() throws {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let tag = "localhost/deltaflow:test"
        let build = try runProgram(
            "/bin/bash", [repository.appendingPathComponent("Examples/container/build-offline.sh").path, tag])
        try #require(build.status == 0, "\(build.stdout.suffix(2000))\(build.stderr.suffix(2000))")

        // The image's user is not root: the output folder must be writable by anyone.
        let output = work.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: output.path)
        var podman = ["run", "--rm", "--volume", "\(output.path):/data"]
        if (try? tool("runc")) != nil { podman = ["--runtime", "runc"] + podman }
        let inside = try runProgram(
            try tool("podman"),
            podman + [
                tag, "run", "Workflows/exemplar-transfer.yaml", "--set", "input=Examples", "--set", "output=/data",
            ],
            environment: ["CONTAINERS_CONF": "/tmp/deltaflow-container/containers.conf"])
        #expect(inside.status == 0, "\(inside.stderr)")

        let host = work.appendingPathComponent("host")
        let outside = try runProgram(
            deltaflowBinary().path,
            [
                "run", repository.appendingPathComponent("Workflows/exemplar-transfer.yaml").path,
                "--set", "input=\(repository.path)/Examples", "--set", "output=\(host.path)",
                "--cache-dir", work.appendingPathComponent("cache").path,
            ])
        #expect(outside.status == 0, "\(outside.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: host.path).filter { !$0.hasPrefix(".") }
            .sorted()
        #expect(names.count == 5)
        for name in names {
            #expect(
                FileManager.default.contents(atPath: output.appendingPathComponent(name).path)
                    == FileManager.default.contents(atPath: host.appendingPathComponent(name).path),
                "\(name) differs between the image and the host")
        }
    }
}
