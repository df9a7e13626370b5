import Foundation
import Testing

@testable import ImageCodecs

/// The Display P3 profile Little CMS made (Fixtures/icc/make_profiles.c).
private let displayP3 = [UInt8](FileManager.default.contents(atPath: fixture("icc/display-p3.icc"))!)
private let sRGBProfile = [UInt8](FileManager.default.contents(atPath: fixture("icc/srgb.icc"))!)

/// A 2×1 RGB image of `pixels`, tagged with `metadata`.
private func tagged(_ pixels: [Float], _ metadata: ImageMetadata) -> Image {
    var image = Image(width: pixels.count / 3, height: 1, colorModel: .rgb, samples: pixels)
    image.metadata = metadata
    return image
}

/// TIFF-structured EXIF, little-endian, with an orientation tag and a link to a second IFD.
private func exif(orientation: Int) -> [UInt8] {
    var bytes: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0]
    bytes += [1, 0]  // one entry
    bytes += [0x12, 0x01, 3, 0, 1, 0, 0, 0, UInt8(orientation), 0, 0, 0]
    bytes += [26, 0, 0, 0]  // next IFD at 26: a thumbnail's
    bytes += [0, 0, 0, 0, 0, 0]
    return bytes
}

@Suite("Colour management and metadata")
struct ColorManagementTests {
    @Test("A Display P3 file's pixels are read in sRGB and written back in P3, unchanged")
    func displayP3RoundTrip() throws {
        // sRGB red and green are inside P3; in P3 numbers they are about (0.917, 0.200, 0.139)
        // and (0.458, 0.985, 0.298) (CSS Color 4's conversion).
        let p3Numbers: [Float] = [0.9175, 0.2003, 0.1386, 0.4584, 0.9853, 0.2983]
        let file = try PNGCodec.encode(
            tagged(p3Numbers, ImageMetadata(iccProfile: displayP3)), options: PNGOptions(bitDepth: 16))
        let read = try ImageFile.decode(file)
        #expect(read.metadata.iccProfile == displayP3)
        #expect(read.metadata.profileName == "Display P3")
        let expected: [Float] = [1, 0, 0, 0, 1, 0]
        for (got, want) in zip(read.floatSamples(), expected) { #expect(abs(got - want) < 2e-3) }

        let written = try ImageFile.decode(try ImageFile.encode(read, options: .png(PNGOptions(bitDepth: 16))))
        #expect(written.metadata.iccProfile == displayP3)
        // Read raw, without conversion: the numbers on disk are the P3 numbers it was given.
        let raw = try Data(ImageFile.encode(read, options: .png(PNGOptions(bitDepth: 16)))).withUnsafeBytes {
            try PNGCodec.decode($0, options: DecodeOptions())
        }
        for (got, want) in zip(raw.floatSamples(), p3Numbers) { #expect(abs(got - want) < 1e-4) }
    }

    @Test("Colours outside sRGB survive the working space and come back on writing")
    func outOfGamut() throws {
        let p3Green: [Float] = [0, 1, 0, 1, 0, 1]
        let file = try PNGCodec.encode(
            tagged(p3Green, ImageMetadata(iccProfile: displayP3)), options: PNGOptions(bitDepth: 16))
        let read = try ImageFile.decode(file)
        let samples = read.floatSamples()
        #expect(samples[0] < -0.1 && samples[1] > 1)  // P3 green is greener than sRGB can show
        let back = try ImageFile.encode(read, options: .png(PNGOptions(bitDepth: 16))).withUnsafeBytes {
            try PNGCodec.decode($0, options: DecodeOptions())
        }
        for (got, want) in zip(back.floatSamples(), p3Green) { #expect(abs(got - want) < 1e-3) }
    }

    @Test("An sRGB profile costs no conversion: 8-bit pixels stay as they are")
    func sRGBTagged() throws {
        let image = tagged([0.2, 0.4, 0.6, 0.8, 0.1, 0.3], ImageMetadata(iccProfile: sRGBProfile)).converted(to: .uint8)
        var withProfile = image
        withProfile.metadata = ImageMetadata(iccProfile: sRGBProfile)
        let read = try ImageFile.decode(try ImageFile.encode(withProfile, options: .jpeg(JPEGOptions(quality: 100))))
        #expect(read.sampleFormat == .uint8)
        #expect(read.metadata.iccProfile == sRGBProfile)
    }

    @Test("EXIF and XMP are written back in PNG and JPEG", arguments: [ImageFormat.png, .jpeg])
    func exifAndXMP(format: ImageFormat) throws {
        let xmp = Array(#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:title>Coffee</dc:title></x:xmpmeta>"#.utf8)
        let metadata = ImageMetadata(iccProfile: displayP3, exif: exif(orientation: 1), xmp: xmp)
        let image = tagged([0.5, 0.5, 0.5, 0.2, 0.3, 0.4], metadata)
        let read = try ImageFile.decode(try ImageFile.encode(image, options: EncodeOptions(format: format)))
        // JPEGs are turned upright on reading, which also unlinks the (stale) thumbnail.
        #expect(read.metadata == (format == .jpeg ? metadata.upright() : metadata))
        #expect(read.metadata.exif != metadata.upright().exif || format == .jpeg)
    }

    @Test("A turned-upright JPEG says orientation 1 and drops the stale thumbnail link")
    func uprightMetadata() throws {
        let xmp = Array(#"<rdf:Description tiff:Orientation="6" tiff:Make="X"/>"#.utf8)
        let upright = ImageMetadata(exif: exif(orientation: 6), xmp: xmp).upright()
        let exifBytes = try #require(upright.exif)
        #expect(exifBytes.withUnsafeBytes { ExifOrientation.parse(tiff: $0) } == .up)
        #expect(Array(exifBytes[22..<26]) == [0, 0, 0, 0])
        #expect(
            String(decoding: upright.xmp!, as: UTF8.self) == #"<rdf:Description tiff:Orientation="1" tiff:Make="X"/>"#)

        // An entry cut short by the end of the data still reads as 6, so it must be reset too.
        let cut = Array(exif(orientation: 6).prefix(20))
        #expect(cut.withUnsafeBytes { ExifOrientation.parse(tiff: $0) } == .right)
        let reset = try #require(ImageMetadata(exif: cut).upright().exif)
        #expect(reset.withUnsafeBytes { ExifOrientation.parse(tiff: $0) } == .up)

        let read = try ImageFile.read(fixture("jpeg/orientation6.jpg"))
        let stored = try #require(read.metadata.exif)
        #expect(stored.withUnsafeBytes { ExifOrientation.parse(tiff: $0) } == .up)
        let asIs = try ImageFile.read(fixture("jpeg/orientation6.jpg"), options: DecodeOptions(applyOrientation: false))
        #expect(asIs.metadata.exif.map { $0.withUnsafeBytes { ExifOrientation.parse(tiff: $0) } } == .right)
    }

    @Test("EXIF's pixel dimensions follow the image: SHORT kept where it fits, LONG past 65535, either byte order")
    func exifDimensions() throws {
        for bigEndian in [false, true] {
            // IFD0 {ExifIFD → 26}; Exif IFD {PixelXDimension SHORT 4000, PixelYDimension LONG 3000}.
            func u16(_ v: Int) -> [UInt8] {
                bigEndian ? [UInt8(v >> 8), UInt8(v & 255)] : [UInt8(v & 255), UInt8(v >> 8)]
            }
            func u32(_ v: Int) -> [UInt8] {
                bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16)
            }
            let header: [UInt8] = (bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]) + u16(42) + u32(8)
            let ifd0 = u16(1) + u16(0x8769) + u16(4) + u32(1) + u32(26) + u32(0)
            let exifIFD =
                u16(2) + u16(0xA002) + u16(3) + u32(1) + u16(4000) + u16(0)
                + u16(0xA003) + u16(4) + u32(1) + u32(3000) + u32(0)
            let metadata = ImageMetadata(exif: header + ifd0 + exifIFD)
            func read(_ exif: [UInt8], _ tag: Int) -> (type: Int, value: Int)? {
                exif.withUnsafeBytes { raw in
                    let reader = TIFFReader(raw)!
                    guard let entry = reader.entry(tag: tag, inIFDAt: 26) else { return nil }
                    return (entry.type, entry.type == 3 ? reader.u16(entry.offset + 8)! : reader.u32(entry.offset + 8)!)
                }
            }
            let small = try #require(metadata.sized(width: 640, height: 480).exif)
            #expect(read(small, 0xA002)! == (3, 640) && read(small, 0xA003)! == (4, 480), "big-endian: \(bigEndian)")
            let large = try #require(metadata.sized(width: 70_000, height: 2).exif)
            #expect(read(large, 0xA002)! == (4, 70_000) && read(large, 0xA003)! == (4, 2), "big-endian: \(bigEndian)")
            // Hostile offsets are ignored, not followed.
            var broken = header + ifd0 + exifIFD
            broken[18...21] = ArraySlice(u32(1_000_000))
            #expect(ImageMetadata(exif: broken).sized(width: 1, height: 1).exif == broken)
        }
    }

    @Test("A profile that does not fit the pixels is not written: a gray result of a P3 photo is plain sRGB gray")
    func mismatchedProfile() throws {
        var gray = Image(width: 2, height: 1, colorModel: .gray, samples: [0.25, 0.75])
        gray.metadata = ImageMetadata(iccProfile: displayP3, exif: exif(orientation: 1))
        let read = try ImageFile.decode(try ImageFile.encode(gray, options: .png(PNGOptions())))
        #expect(read.metadata.iccProfile == nil)
        #expect(read.metadata.exif == exif(orientation: 1))
        #expect(maxDifference(read, gray) < 0.6)
    }

    @Test("A damaged profile is dropped, the pixels read as they are")
    func damagedProfile() throws {
        var image = Image(width: 2, height: 1, colorModel: .rgb, samples: [0.2, 0.4, 0.6, 0.2, 0.4, 0.6])
            .converted(to: .uint8)
        image.metadata = ImageMetadata(iccProfile: Array(displayP3.prefix(100)))
        let read = try ImageFile.decode(try JPEGCodec.encode(image, options: JPEGOptions(quality: 100)))
        #expect(read.metadata.iccProfile == nil)
        #expect(maxDifference(read, image) < 3)
    }

    @Test("Images compare by their pixels, not their metadata")
    func equality() {
        let plain = Image(width: 1, height: 1, colorModel: .gray, samples: [0.5])
        var tagged = plain
        tagged.metadata = ImageMetadata(exif: exif(orientation: 1))
        #expect(plain == tagged)
    }
}
