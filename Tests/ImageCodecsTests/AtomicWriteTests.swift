import Foundation
import Testing

@testable import ImageCodecs

private struct SimulatedCrash: Error {}

private func entries(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

@Suite("Atomic writes")
struct AtomicWriteTests {
    @Test("A failure mid-write leaves no file under the final name and no temporary file")
    func failureLeavesNothing() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory + "/out.png"
            #expect(throws: SimulatedCrash.self) {
                try AtomicFile.write(to: path) { sink in
                    try sink.write([UInt8](repeating: 7, count: 100_000))
                    throw SimulatedCrash()  // the producer dies halfway
                }
            }
            #expect(try entries(directory) == [])
        }
    }

    @Test("A failure while replacing a file keeps the old contents intact")
    func failureKeepsPrevious() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory + "/out.png"
            try AtomicFile.write([1, 2, 3], to: path)
            #expect(throws: SimulatedCrash.self) {
                try AtomicFile.write(to: path) { sink in
                    try sink.write([9, 9])
                    throw SimulatedCrash()
                }
            }
            #expect(try entries(directory) == ["out.png"])
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == [1, 2, 3])
        }
    }

    @Test("The file appears complete, readable by others, under its final name")
    func completeWrite() throws {
        try withTemporaryDirectory { directory throws in
            let path = directory + "/photo.jpg"
            let image = try ImageFile.read(example("chelsea.png"))
            try ImageFile.write(image, to: path)
            #expect(try entries(directory) == ["photo.jpg"])
            let written = try ImageFile.read(path)
            #expect(written.width == image.width && psnr(written, image) > 35)
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o644)
        }
    }

    @Test("An encoding error writes nothing")
    func encodeErrorWritesNothing() throws {
        try withTemporaryDirectory { directory throws in
            let image = syntheticImage(width: 3, height: 3, model: .rgb)
            #expect(throws: ImageError.self) {
                try ImageFile.write(image, to: directory + "/x.jpg", options: .jpeg(JPEGOptions(quality: 0)))
            }
            #expect(try entries(directory) == [])
        }
    }

    @Test("Errors name the path and say how to fix it")
    func errors() throws {
        let image = syntheticImage(width: 3, height: 3, model: .rgb)
        #expect(
            throws: ImageError(
                .writeFailed, "cannot write the file: No such file or directory",
                path: "/nonexistent-dir/x.png",
                help: "the output directory does not exist; create it first", systemError: ENOENT)
        ) {
            try ImageFile.write(image, to: "/nonexistent-dir/x.png")
        }
        try withTemporaryDirectory { directory throws in
            #expect(
                throws: ImageError(
                    .invalidArgument, "cannot tell the output format from the file name",
                    path: directory + "/x.bmp", help: "end the name in .png, .jpg, .tif or .webp")
            ) {
                try ImageFile.write(image, to: directory + "/x.bmp")
            }
            try FileManager.default.createDirectory(
                atPath: directory + "/taken.png", withIntermediateDirectories: false)
            #expect(
                throws: ImageError(
                    .writeFailed, "cannot write the file: a directory has this name",
                    path: directory + "/taken.png")
            ) {
                try ImageFile.write(image, to: directory + "/taken.png")
            }
        }
    }
}
