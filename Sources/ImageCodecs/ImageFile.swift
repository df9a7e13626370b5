import Foundation
import Glibc

/// Reading and writing image files: formats are recognised by content, writes are atomic, and
/// every failure is an `ImageError` that names the file.
public enum ImageFile {
    /// Decodes the PNG, JPEG, TIFF or WebP at `path`.
    public static func read(_ path: String, options: DecodeOptions = DecodeOptions()) throws -> Image {
        let bytes = try readBytes(path, maxBytes: options.maxFileBytes)
        do {
            return try decode(bytes, options: options)
        } catch let error as ImageError {
            throw error.at(path)
        }
    }

    /// The format of the file at `path`, by its first bytes.
    public static func format(of path: String) throws -> ImageFormat {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImageError(.unreadable, "cannot open the file", path: path)
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        do {
            return try head.withUnsafeBytes { try ImageFormat.sniff($0) }
        } catch let error as ImageError {
            throw error.at(path)
        }
    }

    /// Decodes PNG, JPEG, TIFF or WebP bytes; the format is judged by the bytes' signature. Pixels come back
    /// in sRGB (converted from the file's ICC profile, which stays in `metadata` with its EXIF
    /// and XMP, so writing puts the photo back in its own colours).
    public static func decode(_ bytes: [UInt8], options: DecodeOptions = DecodeOptions()) throws -> Image {
        guard options.maxPixels > 0 else {
            throw ImageError(.invalidArgument, "the pixel limit must be positive, not \(options.maxPixels)")
        }
        var image = try bytes.withUnsafeBytes { raw in
            switch try ImageFormat.sniff(raw) {
            case .png: try PNGCodec.decode(raw, options: options)
            case .jpeg: try JPEGCodec.decode(raw, options: options)
            case .tiff: try TIFFCodec.decode(raw, options: options)
            case .webp: try WebPCodec.decode(raw, options: options)
            }
        }
        guard options.colorManaged else {
            image.metadata.iccProfile = nil
            return image
        }
        return image.inWorkingSpace()
    }

    /// Encodes `image` in memory, with its metadata: the pixels converted into its ICC profile
    /// and the profile, EXIF and XMP embedded.
    public static func encode(_ image: Image, options: EncodeOptions) throws -> [UInt8] {
        var tagged = image.forWriting()
        tagged.metadata = tagged.metadata.sized(width: image.width, height: image.height)
        return switch options {
        case .png(let png): try PNGCodec.encode(tagged, options: png)
        case .jpeg(let jpeg): try JPEGCodec.encode(tagged, options: jpeg)
        case .tiff(let tiff): try TIFFCodec.encode(tagged, options: tiff)
        case .webp(let webp): try WebPCodec.encode(tagged, options: webp)
        }
    }

    /// Writes `image` to `path` atomically. Without `options` the format follows the extension.
    public static func write(_ image: Image, to path: String, options: EncodeOptions? = nil) throws {
        let chosen: EncodeOptions
        if let options {
            chosen = options
        } else {
            let ext =
                path.split(separator: "/").last.flatMap { name in
                    name.contains(".") ? name.split(separator: ".").last.map(String.init) : nil
                } ?? ""
            guard let format = ImageFormat(pathExtension: ext) else {
                throw ImageError(
                    .invalidArgument, "cannot tell the output format from the file name",
                    path: path, help: "end the name in .png, .jpg, .tif or .webp")
            }
            chosen = EncodeOptions(format: format)
        }
        let bytes: [UInt8]
        do {
            bytes = try encode(image, options: chosen)
        } catch let error as ImageError {
            throw error.at(path)
        }
        try AtomicFile.write(bytes, to: path)
    }

    /// The whole file, with open/read failures turned into errors that say what to do. The
    /// signature is checked first, so a large file that is no image is never read whole.
    static func readBytes(_ path: String, maxBytes: Int) throws -> [UInt8] {
        // O_NONBLOCK: opening a FIFO would otherwise wait for a writer; regular files ignore it.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw openFailure(errno, path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw openFailure(errno, path) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw ImageError(.unreadable, "is a directory, not an image file", path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ImageError(
                .unreadable, "not a regular file", path: path,
                help: "point deltaflow at image files, not devices or pipes")
        }
        let size = Int(info.st_size)
        if size == 0 { throw ImageError(.empty, "empty file", path: path, help: "the file has 0 bytes") }
        var head = [UInt8](repeating: 0, count: min(size, 16))
        let headCount = head.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, $0.count, 0) }
        if headCount > 0 {
            do {
                _ = try head[0..<headCount].withUnsafeBytes { try ImageFormat.sniff($0) }
            } catch let error as ImageError {
                throw error.at(path)
            }
        }
        guard size <= maxBytes else {
            throw ImageError(
                .tooLarge, "file is \(size) bytes, above the limit of \(maxBytes) bytes", path: path,
                help: "raise the limit with --max-file-bytes if the file is trusted")
        }
        // Uninitialised: a 1 GiB file should not be zero-filled just to be read over.
        let bytes = try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            while initialized < size {
                let count = Glibc.read(descriptor, buffer.baseAddress! + initialized, size - initialized)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw openFailure(errno, path)
                }
                if count == 0 { break }  // the file shrank while we read it
                initialized += count
            }
        }
        return bytes
    }

    private static func openFailure(_ code: Int32, _ path: String) -> ImageError {
        switch code {
        case ENOENT: ImageError(.fileNotFound, "no such file", path: path)
        case EACCES, EPERM:
            ImageError(
                .unreadable, "permission denied", path: path,
                help: "make the file readable, or run as a user who can read it")
        case ELOOP: ImageError(.unreadable, "too many levels of symbolic links", path: path)
        default: ImageError(.unreadable, "cannot read the file: \(String(cString: strerror(code)))", path: path)
        }
    }
}
