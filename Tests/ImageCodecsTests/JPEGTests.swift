import Testing

@testable import ImageCodecs

@Suite("JPEG decoding and encoding")
struct JPEGTests {
    // The expected images are Pillow's decode of the same files (see Fixtures/make_fixtures.py).
    // Both sides are libjpeg-turbo with its default accurate integer IDCT and fancy upsampling;
    // the stated tolerance allows one 8-bit step for version differences between builds.
    @Test(
        "Baseline, progressive and grayscale JPEGs match the reference decode within 1/255",
        arguments: [("baseline", ColorModel.rgb), ("progressive", .rgb), ("gray", .gray)])
    func referenceDecode(name: String, model: ColorModel) throws {
        let decoded = try ImageFile.read(fixture("jpeg/\(name).jpg"))
        let expected = try ImageFile.read(fixture("jpeg/\(name).expected.png"))
        #expect(decoded.colorModel == model)
        #expect(maxDifference(decoded, expected) <= 1)
    }

    @Test("CMYK (Adobe-inverted) JPEGs come out as RGB close to the original")
    func cmyk() throws {
        let decoded = try ImageFile.read(fixture("jpeg/cmyk.jpg"))
        let source = try ImageFile.read(fixture("jpeg/source.png"))
        #expect(decoded.colorModel == .rgb)
        #expect(psnr(decoded, source) > 30)
    }

    @Test(
        "Encoding then decoding stays within JPEG's loss (PSNR > 36 dB at quality 95, 4:2:0)",
        arguments: [false, true])
    func roundTrip(progressive: Bool) throws {
        let photo = try ImageFile.read(example("coffee.png"))
        let options = JPEGOptions(quality: 95, progressive: progressive)
        let decoded = try ImageFile.decode(try ImageFile.encode(photo, options: .jpeg(options)))
        #expect(decoded.width == photo.width && decoded.height == photo.height)
        #expect(psnr(decoded, photo) > 36)
    }

    @Test("Grayscale round-trips as grayscale")
    func grayRoundTrip() throws {
        let photo = try ImageFile.read(example("camera.png"))
        #expect(photo.colorModel == .gray)
        let bytes = try ImageFile.encode(photo, options: .jpeg(JPEGOptions(quality: 95)))
        let decoded = try ImageFile.decode(bytes)
        #expect(decoded.colorModel == .gray)
        #expect(psnr(decoded, photo) > 38)
    }

    @Test("Higher quality gives larger files and smaller error")
    func qualityMatters() throws {
        let photo = try ImageFile.read(example("chelsea.png"))
        let low = try ImageFile.encode(photo, options: .jpeg(JPEGOptions(quality: 30)))
        let high = try ImageFile.encode(photo, options: .jpeg(JPEGOptions(quality: 95)))
        #expect(low.count < high.count)
        #expect(psnr(try ImageFile.decode(low), photo) < psnr(try ImageFile.decode(high), photo))
    }

    @Test("Transparent images are flattened over the background colour")
    func flattensAlpha() throws {
        var image = Image(width: 16, height: 16, colorModel: .rgba, value: 0)  // black, fully transparent
        for y in 0..<16 { for x in 0..<8 { image[x, y, 3] = 1 } }  // left half opaque black
        let decoded = try ImageFile.decode(try ImageFile.encode(image, options: .jpeg(JPEGOptions(quality: 100))))
        #expect(decoded.colorModel == .rgb)
        #expect(decoded[2, 8, 0] < 0.05)  // opaque black stays black
        #expect(decoded[13, 8, 0] > 0.95)  // transparent becomes the white background
    }

    @Test("A real camera JPEG decodes")
    func photo() throws {
        let rocket = try ImageFile.read(example("rocket.jpg"))
        #expect(rocket.width == 640 && rocket.height == 427 && rocket.colorModel == .rgb)
    }
}

@Suite("EXIF orientation")
struct OrientationTests {
    /// The upright fixture: 48×32, quadrants TL red, TR green, BL blue, BR white.
    private func expectUpright(_ image: Image, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(image.width == 48 && image.height == 32, sourceLocation: sourceLocation)
        guard image.width == 48 && image.height == 32 else { return }
        let probes: [((Int, Int), [Float])] = [
            ((12, 8), [1, 0, 0]), ((36, 8), [0, 1, 0]),
            ((12, 24), [0, 0, 1]), ((36, 24), [1, 1, 1]),
        ]
        for ((x, y), colour) in probes {
            let seen = (0..<3).map { image[x, y, $0] }
            let close = zip(seen, colour).allSatisfy { abs($0 - $1) < 0.08 }
            #expect(close, "at (\(x), \(y)) expected \(colour), saw \(seen)", sourceLocation: sourceLocation)
        }
    }

    @Test("Orientations 1–8 all come out upright", arguments: 1...8)
    func upright(orientation: Int) throws {
        expectUpright(try ImageFile.read(fixture("jpeg/orientation\(orientation).jpg")))
    }

    @Test("Big-endian (Motorola) EXIF is read too")
    func bigEndian() throws {
        expectUpright(try ImageFile.read(fixture("jpeg/orientation6_bigendian.jpg")))
    }

    @Test("Orientation can be left as stored")
    func keepStored() throws {
        let stored = try ImageFile.read(
            fixture("jpeg/orientation6.jpg"), options: DecodeOptions(applyOrientation: false))
        #expect(stored.width == 32 && stored.height == 48)
    }

    @Test("Malformed EXIF payloads yield no orientation and never read out of bounds")
    func malformed() {
        let valid: [UInt8] =
            Array("Exif\0\0".utf8) + [
                0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0,
                0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
            ]
        #expect(valid.withUnsafeBytes { ExifOrientation.parse(exifPayload: $0) } == .right)
        for cut in 0..<valid.count - 8 {  // every truncation point before the value
            let prefix = Array(valid[0..<cut])
            #expect(prefix.withUnsafeBytes { ExifOrientation.parse(exifPayload: $0) } == nil)
        }
        var farOffset = valid
        farOffset[10] = 0xFF
        farOffset[11] = 0xFF
        farOffset[12] = 0xFF
        farOffset[13] = 0x7F
        #expect(farOffset.withUnsafeBytes { ExifOrientation.parse(exifPayload: $0) } == nil)
        var badValue = valid
        badValue[24] = 9
        #expect(badValue.withUnsafeBytes { ExifOrientation.parse(exifPayload: $0) } == nil)
    }

    @Test("Applying an orientation and its inverse restores the image", arguments: ExifOrientation.allCases)
    func inverse(orientation: ExifOrientation) {
        let image = syntheticImage(width: 5, height: 3, model: .rgb)
        let inverse: ExifOrientation =
            switch orientation {
            case .right: .left
            case .left: .right
            default: orientation
            }
        #expect(image.applying(orientation).applying(inverse) == image)
    }
}

@Suite("JPEG chroma subsampling")
struct ChromaSubsamplingTests {
    @Test(
        "Finer chroma gives a larger file and a closer image",
        arguments: [JPEGOptions.ChromaSubsampling.none, .horizontal, .both])
    func subsampling(mode: JPEGOptions.ChromaSubsampling) throws {
        let photo = try ImageFile.read(example("coffee.png"))
        let bytes = try ImageFile.encode(photo, options: .jpeg(JPEGOptions(quality: 90, chromaSubsampling: mode)))
        let decoded = try ImageFile.decode(bytes)
        #expect(psnr(decoded, photo) > 33)
        if mode != .both {
            let coarser = try ImageFile.encode(
                photo,
                options: .jpeg(
                    JPEGOptions(
                        quality: 90, chromaSubsampling: mode == .none ? .horizontal : .both)))
            #expect(bytes.count > coarser.count)
            #expect(psnr(decoded, photo) > psnr(try ImageFile.decode(coarser), photo))
        }
    }
}
