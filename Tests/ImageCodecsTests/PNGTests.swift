import Testing

@testable import ImageCodecs

/// The pattern `Fixtures/make_fixtures.py` writes: 37×23 pixels.
private let width = 37
private let height = 23
private func v8(_ x: Int, _ y: Int, _ c: Int) -> Float { Float((x * 7 + y * 13 + c * 61 + 5) % 256) / 255 }
private func v16(_ x: Int, _ y: Int, _ c: Int) -> Float {
    Float((x * 1031 + y * 2053 + c * 16411 + 7) % 65536) / 65535
}

private func expectPixels(
    _ image: Image, model: ColorModel, depth: Int, _ expected: (Int, Int, Int) -> Float,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(image.width == width && image.height == height, sourceLocation: sourceLocation)
    #expect(image.colorModel == model, sourceLocation: sourceLocation)
    #expect(image.bitDepth == depth, sourceLocation: sourceLocation)
    var mismatches = 0
    for c in 0..<model.channels {
        for y in 0..<height {
            for x in 0..<width where image[x, y, c] != expected(x, y, c) { mismatches += 1 }
        }
    }
    #expect(mismatches == 0, "\(mismatches) samples differ", sourceLocation: sourceLocation)
}

@Suite("PNG decoding")
struct PNGDecodingTests {
    @Test(
        "8- and 16-bit gray, gray+alpha, RGB and RGBA decode exactly",
        arguments: [("gray", ColorModel.gray), ("graya", .grayAlpha), ("rgb", .rgb), ("rgba", .rgba)], [8, 16])
    func layouts(name: (String, ColorModel), depth: Int) throws {
        let image = try ImageFile.read(fixture("png/\(name.0)\(depth).png"))
        expectPixels(image, model: name.1, depth: depth, depth == 8 ? v8 : v16)
    }

    @Test("Adam7-interlaced PNGs decode exactly")
    func interlaced() throws {
        expectPixels(try ImageFile.read(fixture("png/rgb8_interlaced.png")), model: .rgb, depth: 8, v8)
        expectPixels(try ImageFile.read(fixture("png/rgba16_interlaced.png")), model: .rgba, depth: 16, v16)
        expectPixels(try ImageFile.read(fixture("png/gray1_interlaced.png")), model: .gray, depth: 8) { x, y, _ in
            Float((x ^ y) & 1)
        }
    }

    @Test("1-, 2- and 4-bit gray expand to full 8-bit range")
    func lowBitDepths() throws {
        expectPixels(try ImageFile.read(fixture("png/gray1.png")), model: .gray, depth: 8) { x, y, _ in
            Float((x ^ y) & 1)
        }
        expectPixels(try ImageFile.read(fixture("png/gray2.png")), model: .gray, depth: 8) { x, y, _ in
            Float((x + y) % 4 * 85) / 255
        }
        expectPixels(try ImageFile.read(fixture("png/gray4.png")), model: .gray, depth: 8) { x, y, _ in
            Float((x + 2 * y) % 16 * 17) / 255
        }
    }

    @Test("Palette PNGs become RGB, or RGBA when they carry tRNS transparency")
    func palette() throws {
        func colour(_ x: Int, _ y: Int, _ c: Int) -> Float {
            let i = (x + 2 * y) % 16
            return Float([(16 * i) % 256, 255 - 16 * i, (37 * i) % 256, (17 * i) % 256][c]) / 255
        }
        expectPixels(try ImageFile.read(fixture("png/palette.png")), model: .rgba, depth: 8, colour)
        expectPixels(try ImageFile.read(fixture("png/palette_opaque.png")), model: .rgb, depth: 8, colour)
    }

    @Test("A gray colour key (tRNS) becomes an alpha plane")
    func grayColorKey() throws {
        let image = try ImageFile.read(fixture("png/gray8_trns.png"))
        expectPixels(image, model: .grayAlpha, depth: 8) { x, y, c in
            c == 0 ? v8(x, y, 0) : (v8(x, y, 0) == 5 / 255 ? 0 : 1)
        }
        #expect(image[0, 0, 1] == 0, "the fixture must contain at least one keyed pixel")
    }
}

@Suite("PNG encoding")
struct PNGEncodingTests {
    @Test(
        "Every colour model round-trips pixel-exactly at 8 and 16 bits",
        arguments: ColorModel.allCases, [8, 16])
    func roundTrip(model: ColorModel, depth: Int) throws {
        let original = syntheticImage(width: 41, height: 17, model: model, bitDepth: depth)
        let bytes = try ImageFile.encode(original, options: .png(PNGOptions(bitDepth: depth)))
        let decoded = try ImageFile.decode(bytes)
        #expect(decoded == original)
    }

    @Test("Every fixture variant survives decode → encode → decode unchanged")
    func fixtureRoundTrip() throws {
        for name in ["gray16", "graya8", "rgb8_interlaced", "rgba16", "palette", "gray1", "gray8_trns"] {
            let first = try ImageFile.read(fixture("png/\(name).png"))
            let again = try ImageFile.decode(try ImageFile.encode(first, options: .png(PNGOptions())))
            #expect(again == first, "\(name)")
        }
    }

    @Test("A real photo round-trips exactly")
    func photo() throws {
        let photo = try ImageFile.read(example("astronaut.png"))
        #expect(photo.width == 512 && photo.height == 512 && photo.colorModel == .rgb)
        let again = try ImageFile.decode(try ImageFile.encode(photo, options: .png(PNGOptions(compressionLevel: 1))))
        #expect(again == photo)
    }

    @Test(
        "A photo round-trips exactly at every effort and at 16 bits (written run-length over Paeth rows)",
        arguments: [0, 1, 4, 9], [8, 16])
    func photoAtEveryLevel(level: Int, depth: Int) throws {
        let photo = try ImageFile.read(example("chelsea.png"))
        let bytes = try ImageFile.encode(photo, options: .png(PNGOptions(bitDepth: depth, compressionLevel: level)))
        let again = try ImageFile.decode(bytes)
        #expect(again.bitDepth == depth)
        #expect(maxDifference(again, photo) == 0)
    }

    @Test("Graphics keep LZ77: a repeating tile of random colours compresses to under an eighth")
    func graphicsKeepMatches() throws {
        // Run-length deflate finds no runs in this (the tile is noise) but LZ77 finds the tile
        // repeated: 18 KB as written, 55 KB run-length over Paeth rows, 192 KB raw.
        let tile: [Float] = (0..<(16 * 16 * 3)).map { (i: Int) -> Float in
            let hashed: Int = (i &* 2_654_435_761) >> 11
            return Float(hashed % 256) / 255
        }
        let side = 256
        var samples = [Float](repeating: 0, count: side * side * 3)
        for y in 0..<side {
            for x in 0..<side {
                let (pixel, tiled) = ((y * side + x) * 3, ((y % 16) * 16 + x % 16) * 3)
                for c in 0..<3 { samples[pixel + c] = tile[tiled + c] }
            }
        }
        let image = Image(width: side, height: side, colorModel: .rgb, samples: samples)
        let bytes = try ImageFile.encode(image, options: .png(PNGOptions()))
        #expect(bytes.count < side * side * 3 / 8, "\(bytes.count) bytes")
        #expect(maxDifference(try ImageFile.decode(bytes), image) == 0)
    }

    @Test("Out-of-range options are refused with a message")
    func badOptions() {
        let image = syntheticImage(width: 4, height: 4, model: .rgb)
        #expect(throws: ImageError(.invalidArgument, "PNG bit depth must be 8 or 16, not 12")) {
            try ImageFile.encode(image, options: .png(PNGOptions(bitDepth: 12)))
        }
        #expect(throws: ImageError(.invalidArgument, "PNG compression level must be 0 to 9, not 11")) {
            try ImageFile.encode(image, options: .png(PNGOptions(compressionLevel: 11)))
        }
    }
}
