import Foundation
import Testing

@testable import ImageCodecs

/// A small photo-like image of `model` with every sample distinct enough to catch a swapped
/// channel or row, at `format`.
private func sample(_ model: ColorModel, _ format: SampleFormat, width: Int = 37, height: Int = 23) -> Image {
    var samples = [Float](repeating: 0, count: width * height * model.channels)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<model.channels {
                let v = Float((x * 7 + y * 13 + c * 29) % 256) / 255
                samples[(y * width + x) * model.channels + c] =
                    model.hasAlpha && c == model.channels - 1 ? 1 - v / 2 : v
            }
        }
    }
    return Image(width: width, height: height, colorModel: model, samples: samples).converted(to: format)
}

private let displayP3 = [UInt8](FileManager.default.contents(atPath: fixture("icc/display-p3.icc"))!)

@Suite("TIFF and WebP")
struct TIFFWebPTests {
    @Test(
        "TIFF round-trips exactly at 8 and 16 bits in every colour model",
        arguments: [ColorModel.gray, .grayAlpha, .rgb, .rgba], [SampleFormat.uint8, .uint16])
    func tiffRoundTrip(model: ColorModel, format: SampleFormat) throws {
        let image = sample(model, format)
        let bytes = try ImageFile.encode(image, options: .tiff(TIFFOptions()))
        #expect(bytes.withUnsafeBytes { try? ImageFormat.sniff($0) } == .tiff)
        let read = try ImageFile.decode(bytes)
        #expect(read.sampleFormat == format && read.colorModel == model)
        #expect(read == image)
    }

    @Test("TIFF keeps the ICC profile (converting back) and the XMP")
    func tiffMetadata() throws {
        var image = sample(.rgb, .uint16)
        let xmp = Array(#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:title>T</dc:title></x:xmpmeta>"#.utf8)
        image.metadata = ImageMetadata(iccProfile: displayP3, xmp: xmp)
        let read = try ImageFile.decode(try ImageFile.encode(image, options: .tiff(TIFFOptions(bitDepth: 16))))
        #expect(read.metadata.iccProfile == displayP3)
        #expect(read.metadata.xmp == xmp)
        #expect(maxDifference(read, image) < 0.05)  // in 8-bit levels, after P3 and back at 16 bits
    }

    @Test("Lossless WebP round-trips 8-bit RGB and RGBA exactly; gray comes back as equal RGB")
    func webpLossless() throws {
        for model in [ColorModel.rgb, .rgba] {
            let image = sample(model, .uint8)
            let bytes = try ImageFile.encode(image, options: .webp(WebPOptions(lossless: true)))
            #expect(bytes.withUnsafeBytes { try? ImageFormat.sniff($0) } == .webp)
            #expect(try ImageFile.decode(bytes) == image)
        }
        let gray = sample(.gray, .uint8)
        let read = try ImageFile.decode(try ImageFile.encode(gray, options: .webp(WebPOptions(lossless: true))))
        #expect(read == gray.converted(to: .rgb))
    }

    @Test("Lossy WebP stays close to a photo at quality 90 and keeps ICC, EXIF and XMP")
    func webpLossy() throws {
        var photo = try ImageFile.read(example("coffee.png"))
        let exif: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let xmp = Array("<x:xmpmeta/>".utf8)
        photo.metadata = ImageMetadata(iccProfile: displayP3, exif: exif, xmp: xmp)
        let read = try ImageFile.decode(try ImageFile.encode(photo, options: .webp(WebPOptions(quality: 90))))
        #expect(read.metadata == photo.metadata)
        #expect(psnr(read, photo) > 32, "PSNR \(psnr(read, photo)) dB")
    }

    @Test("Damaged TIFF and WebP files are errors that name the problem, never crashes")
    func damaged() throws {
        let tiff = try ImageFile.encode(sample(.rgb, .uint8, width: 64, height: 64), options: .tiff(TIFFOptions()))
        let webp = try ImageFile.encode(sample(.rgb, .uint8, width: 64, height: 64), options: .webp(WebPOptions()))
        for bytes in [Array(tiff.prefix(40)), Array(tiff.prefix(tiff.count / 2)), Array(webp.prefix(30))] {
            #expect(throws: ImageError.self) { try ImageFile.decode(bytes) }
        }
        var flipped = tiff
        for i in stride(from: 8, to: min(flipped.count, 200), by: 3) { flipped[i] ^= 0x5A }
        _ = try? ImageFile.decode(flipped)  // any outcome but a crash
        #expect(throws: ImageError.self) {
            try ImageFile.decode(tiff, options: DecodeOptions(maxPixels: 100))
        }
    }
}
