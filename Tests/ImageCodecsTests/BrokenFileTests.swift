import Foundation
import Testing

@testable import ImageCodecs

@Suite("Broken and hostile files")
struct BrokenFileTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let file: String
        let code: ImageError.Code
        let reason: String
        var testDescription: String { file }
    }

    static let corpus: [Case] = [
        Case(file: "empty.png", code: .empty, reason: "empty file"),
        Case(file: "text.jpg", code: .notAnImage, reason: "not a PNG, JPEG, TIFF or WebP file"),
        Case(file: "random.bin", code: .notAnImage, reason: "not a PNG, JPEG, TIFF or WebP file"),
        Case(file: "really_a_gif.png", code: .unsupportedFormat, reason: "GIF images are not supported"),
        Case(file: "signature_only.png", code: .truncated, reason: "truncated PNG data"),
        Case(file: "truncated.png", code: .truncated, reason: "truncated PNG data"),
        Case(file: "header_only.jpg", code: .truncated, reason: "truncated JPEG data"),
        Case(file: "truncated.jpg", code: .truncated, reason: "truncated JPEG data"),
        Case(file: "bad_crc.png", code: .corrupt, reason: "corrupt PNG data: IDAT: "),
        Case(file: "corrupt_scan.jpg", code: .corrupt, reason: "corrupt JPEG data: "),
        Case(file: "random_after_soi.jpg", code: .corrupt, reason: "corrupt JPEG data: "),
        Case(
            file: "bomb.png", code: .tooLarge,
            reason: "image is 100000 x 100000 pixels, above the limit of 100 megapixels"),
        Case(
            file: "bomb.jpg", code: .tooLarge,
            reason: "image is 60000 x 60000 pixels, above the limit of 100 megapixels"),
    ]

    @Test("Each broken file gives its own error naming the file, never a crash", arguments: corpus)
    func brokenFile(_ item: Case) {
        let path = fixture("broken/\(item.file)")
        do {
            let image = try ImageFile.read(path)
            Issue.record("decoded a \(image.width)x\(image.height) image from \(item.file)")
        } catch let error as ImageError {
            #expect(error.code == item.code)
            #expect(error.reason.hasPrefix(item.reason), "reason was: \(error.reason)")
            #expect(error.path == path)
            #expect(error.description.hasPrefix("\(path): \(item.reason)"))
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test("Every prefix of a valid PNG and JPEG fails cleanly", arguments: ["png/rgba8.png", "jpeg/progressive.jpg"])
    func everyTruncation(name: String) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: fixture(name))))
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            #expect(throws: ImageError.self, "prefix of \(length) bytes") {
                _ = try ImageFile.decode(Array(bytes[0..<length]))
            }
        }
    }

    @Test("Missing files, directories and pipes are named with the reason")
    func notFiles() throws {
        #expect(throws: ImageError(.fileNotFound, "no such file", path: "/nonexistent/photo.jpg")) {
            try ImageFile.read("/nonexistent/photo.jpg")
        }
        try withTemporaryDirectory { directory throws in
            #expect(throws: ImageError(.unreadable, "is a directory, not an image file", path: directory)) {
                try ImageFile.read(directory)
            }
            let fifo = directory + "/pipe.png"
            #expect(mkfifo(fifo, 0o600) == 0)
            #expect(
                throws: ImageError(
                    .unreadable, "not a regular file", path: fifo,
                    help: "point deltaflow at image files, not devices or pipes")
            ) {
                try ImageFile.read(fifo)
            }
        }
    }
}

@Suite("Pixel limit")
struct PixelLimitTests {
    @Test("Images above the limit are refused; at the limit they decode")
    func limit() throws {
        let path = fixture("png/rgb8.png")  // 37 × 23 = 851 pixels
        #expect(try ImageFile.read(path, options: DecodeOptions(maxPixels: 851)).pixelCount == 851)
        #expect(
            throws: ImageError(
                .tooLarge, "image is 37 x 23 pixels, above the limit of 850 pixels",
                path: path, help: "raise the limit with --max-pixels if the file is trusted")
        ) {
            try ImageFile.read(path, options: DecodeOptions(maxPixels: 850))
        }
        let jpeg = fixture("jpeg/baseline.jpg")  // 97 × 61 = 5917 pixels
        #expect(throws: ImageError.self) { try ImageFile.read(jpeg, options: DecodeOptions(maxPixels: 5916)) }
        #expect(try ImageFile.read(jpeg, options: DecodeOptions(maxPixels: 5917)).pixelCount == 5917)
    }

    @Test("Files above the byte limit are refused before they are read; non-images even sooner")
    func fileSizeLimit() throws {
        let path = fixture("jpeg/baseline.jpg")  // 2889 bytes
        #expect(
            throws: ImageError(
                .tooLarge, "file is 2889 bytes, above the limit of 2000 bytes", path: path,
                help: "raise the limit with --max-file-bytes if the file is trusted")
        ) {
            try ImageFile.read(path, options: DecodeOptions(maxFileBytes: 2000))
        }
        // A file that is no image is named as such, whatever its size.
        let text = fixture("broken/random.bin")
        #expect(
            throws: ImageError(
                .notAnImage, "not a PNG, JPEG, TIFF or WebP file", path: text,
                help: "deltaflow reads PNG, JPEG, TIFF and WebP; the file's first bytes match none")
        ) {
            try ImageFile.read(text, options: DecodeOptions(maxFileBytes: 10))
        }
    }

    @Test("The default limit is 100 megapixels")
    func defaultLimit() {
        #expect(DecodeOptions().maxPixels == 100_000_000)
    }
}
