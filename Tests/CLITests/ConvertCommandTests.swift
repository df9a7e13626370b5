import Foundation
import Testing

@Suite("deltaflow convert")
struct ConvertCommandTests {
    @Test("Converts every example photo, shrunk, into the output directory")
    func examples() throws {
        let output = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try deltaflow([
            "convert", repository.appendingPathComponent("Examples").path,
            "--output", output.path, "--max-side", "64", "--format", "png",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
        #expect(names == ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.png"])
        let info = try deltaflow(["info", output.appendingPathComponent("coffee.png").path])
        #expect(info.stdout.contains("64x43 RGB, 8-bit"))
    }

    @Test("A broken file is reported by path and reason; the others are still converted; exit 3")
    func brokenFileInBatch() throws {
        let input = try temporaryDirectory()
        let output = try temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/rocket.jpg"),
            to: input.appendingPathComponent("a.jpg"))
        let rocket = try Data(contentsOf: repository.appendingPathComponent("Examples/rocket.jpg"))
        try rocket.prefix(rocket.count / 2).write(to: input.appendingPathComponent("b.jpg"))
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/chelsea.png"),
            to: input.appendingPathComponent("c.png"))
        let result = try deltaflow(["convert", input.path, "--output", output.path])
        #expect(result.status == 3)
        #expect(result.stdout.contains("b.jpg: truncated JPEG data"), "\(result.stdout)")
        #expect(result.stdout.contains("done 2, failed 1"), "\(result.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() == ["a.jpg", "c.png"])
    }

    @Test("Never writes over an input file")
    func refusesToOverwriteInput() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let photo = directory.appendingPathComponent("rocket.jpg")
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/rocket.jpg"), to: photo)
        let before = try Data(contentsOf: photo)
        let result = try deltaflow(["convert", directory.path, "--output", directory.path])
        #expect(result.status == 3)
        #expect(result.stdout.contains("it is one of this run's input files"), "\(result.stdout)")
        #expect(try Data(contentsOf: photo) == before)
    }

    @Test("Never writes over another input: b.jpg converted to PNG beside an input b.png is refused")
    func refusesToOverwriteOtherInput() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/rocket.jpg"),
            to: directory.appendingPathComponent("b.jpg"))
        let png = directory.appendingPathComponent("b.png")
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/coffee.png"), to: png)
        let before = try Data(contentsOf: png)
        // Both would become b.png: refused before either is converted (before 89dc424, b.jpg
        // failed alone, on reaching an input's name).
        let result = try deltaflow(["convert", directory.path, "--output", directory.path, "--format", "png"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(png.path) ← b.jpg and b.png"), "\(result.stderr)")
        #expect(result.stderr.contains("nothing was processed"))
        #expect(try Data(contentsOf: png) == before)
    }

    @Test("Named files from two directories, only those; on the engine, so --resume skips what a run finished")
    func namedFilesAndResume() throws {
        let other = try temporaryDirectory()
        let output = try temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: other)
            try? FileManager.default.removeItem(at: output)
        }
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/chelsea.png"),
            to: other.appendingPathComponent("cat [1].png"))
        let arguments = [
            "convert", repository.appendingPathComponent("Examples/rocket.jpg").path,
            repository.appendingPathComponent("Examples/coffee.png").path,
            other.appendingPathComponent("cat [1].png").path,
            "--output", output.path, "--max-side", "32", "--format", "jpeg",
        ]
        let first = try deltaflow(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() == [
                "cat [1].jpg", "coffee.jpg", "rocket.jpg",
            ])
        let again = try deltaflow(arguments + ["--resume"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("already done"), "\(again.stdout)")
    }

    @Test("Named files it cannot name alone are refused before anything runs; odd characters are fine")
    func namedFileEdgeCases() throws {
        let directory = try temporaryDirectory()
        let output = try temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: output)
        }
        let rocket = repository.appendingPathComponent("Examples/rocket.jpg")
        for name in [".hidden.jpg", "a.jpg", "A.JPG", "quote\"back\\slash\u{7f}*.jpg"] {
            try FileManager.default.copyItem(at: rocket, to: directory.appendingPathComponent(name))
        }
        let hidden = try deltaflow(["convert", directory.appendingPathComponent(".hidden.jpg").path, "-o", output.path])
        #expect(hidden.status == 64 && hidden.stderr.contains("a hidden file"), "\(hidden.stderr)")
        let twin = try deltaflow(["convert", directory.appendingPathComponent("a.jpg").path, "-o", output.path])
        #expect(twin.status == 64 && twin.stderr.contains("A.JPG beside it differs only in case"), "\(twin.stderr)")
        let odd = try deltaflow([
            "convert", directory.appendingPathComponent("quote\"back\\slash\u{7f}*.jpg").path, "-o", output.path,
            "--max-side", "16",
        ])
        #expect(odd.status == 0, "\(odd.stdout)\(odd.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path) == ["quote\"back\\slash\u{7f}*.jpg"])
        let empty = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let none = try deltaflow(["convert", empty.path, "-o", output.path])
        #expect(none.status == 64 && none.stderr.contains("no PNG, JPEG, TIFF or WebP files found"), "\(none.stderr)")
    }

    @Test("Bad arguments are usage errors naming the option")
    func badArguments() throws {
        let result = try deltaflow(["convert", "Examples", "--output", "/tmp/x", "--quality", "0"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--quality must be 1 to 100, not 0"))
    }
}
