/// The file formats deltaflow reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case png
    case jpeg
    case tiff
    case webp

    /// The format a file name asks for, from its extension (case-insensitive).
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg", "jpe", "jfif": self = .jpeg
        case "tif", "tiff": self = .tiff
        case "webp": self = .webp
        default: return nil
        }
    }

    /// The format of encoded bytes, judged by their signature, never by a file name.
    /// - Throws: `ImageError` naming what the bytes look like when they are none of the four.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) throws -> ImageFormat {
        if bytes.isEmpty { throw ImageError(.empty, "empty file", help: "the file has 0 bytes") }
        func starts(with signature: [UInt8]) -> Bool {
            bytes.count >= signature.count && zip(bytes, signature).allSatisfy { $0 == $1 }
        }
        if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        // Classic and BigTIFF, both byte orders.
        for signature: [UInt8] in [
            [0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A], [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B],
        ]
        where starts(with: signature) {
            return .tiff
        }
        if bytes.count >= 12, starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
            return .webp
        }

        let others: [(signature: [UInt8], name: String)] = [
            (Array("GIF8".utf8), "GIF"), (Array("BM".utf8), "BMP"), (Array("8BPS".utf8), "Photoshop"),
        ]
        for other in others where starts(with: other.signature) {
            throw unsupported(other.name)
        }
        if bytes.count >= 12, Array(bytes[4..<8]) == Array("ftyp".utf8) {
            throw unsupported("HEIF/AVIF")
        }
        throw ImageError(
            .notAnImage, "not a PNG, JPEG, TIFF or WebP file",
            help: "deltaflow reads PNG, JPEG, TIFF and WebP; the file's first bytes match none")
    }

    private static func unsupported(_ name: String) -> ImageError {
        ImageError(
            .unsupportedFormat, "\(name) images are not supported",
            help: "convert it to PNG, JPEG, TIFF or WebP first")
    }
}
