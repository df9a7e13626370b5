import Testing

@testable import ImageCodecs

@Suite("Resizing")
struct ResizeTests {
    @Test("Area downscaling by 2 is the exact 2×2 mean")
    func areaMean() {
        let image = syntheticImage(width: 8, height: 6, model: .gray).converted(to: .float32)
        let small = image.resized(width: 4, height: 3, filter: .area)
        for y in 0..<3 {
            for x in 0..<4 {
                let mean =
                    (image[2 * x, 2 * y, 0] + image[2 * x + 1, 2 * y, 0]
                        + image[2 * x, 2 * y + 1, 0] + image[2 * x + 1, 2 * y + 1, 0]) / 4
                #expect(abs(small[x, y, 0] - mean) < 1e-6)
            }
        }
    }

    @Test(
        "Area downscaling by a fractional factor preserves the mean", arguments: [(37, 23, 10, 7), (100, 80, 33, 31)])
    func areaPreservesMean(sizes: (Int, Int, Int, Int)) {
        let image = syntheticImage(width: sizes.0, height: sizes.1, model: .rgb).converted(to: .float32)
        let small = image.resized(width: sizes.2, height: sizes.3, filter: .area)
        let mean = { (i: Image) in i.floatSamples().reduce(0, +) / Float(i.floatSamples().count) }
        #expect(abs(mean(image) - mean(small)) < 1e-4)
    }

    @Test("Every filter keeps a constant image constant and in range", arguments: ResizeFilter.allCases)
    func constant(filter: ResizeFilter) {
        let image = Image(width: 13, height: 9, colorModel: .rgb, value: 0.25)
        for (w, h) in [(5, 4), (40, 27)] {
            let out = image.resized(width: w, height: h, filter: filter)
            #expect(out.width == w && out.height == h)
            #expect(out.floatSamples().allSatisfy { abs($0 - 0.25) < 1e-5 })
        }
    }

    @Test("Upscaling keeps a linear ramp linear away from the borders", arguments: [ResizeFilter.bicubic, .lanczos3])
    func ramp(filter: ResizeFilter) {
        var image = Image(width: 16, height: 4, colorModel: .gray)
        for y in 0..<4 { for x in 0..<16 { image[x, y, 0] = Float(x) / 15 } }
        let big = image.resized(width: 64, height: 4, filter: filter)
        for x in 12..<52 {
            let expected = ((Float(x) + 0.5) / 4 - 0.5) / 15
            // Catmull-Rom reproduces linear ramps exactly; Lanczos-3 only to about 0.1%.
            #expect(abs(big[x, 2, 0] - expected) < (filter == .bicubic ? 1e-5 : 2e-3), "x = \(x)")
        }
    }

    @Test("Lanczos upscaling is sharper than bicubic on an edge, and both stay in [0, 1]")
    func overshootClamped() {
        var image = Image(width: 8, height: 1, colorModel: .gray)
        for x in 4..<8 { image[x, 0, 0] = 1 }
        for filter in [ResizeFilter.bicubic, .lanczos3] {
            let big = image.resized(width: 64, height: 1, filter: filter)
            #expect(big.floatSamples().allSatisfy { (0...1).contains($0) })
        }
    }

    @Test("Transparent pixels do not bleed their colour into visible ones")
    func premultipliedFiltering() {
        var image = Image(width: 4, height: 1, colorModel: .rgba)
        for x in 0..<2 {
            image[x, 0, 0] = 1
            image[x, 0, 3] = 1
        }  // opaque red
        for x in 2..<4 {
            image[x, 0, 1] = 1
            image[x, 0, 3] = 0
        }  // invisible green
        let small = image.resized(width: 2, height: 1, filter: .area)
        #expect(small[1, 0, 3] == 0)
        let mixed = image.resized(width: 1, height: 1, filter: .area)
        #expect(abs(mixed[0, 0, 3] - 0.5) < 1e-6)
        #expect(abs(mixed[0, 0, 0] - 1) < 1e-6 && mixed[0, 0, 1] == 0)  // pure red, half transparent
    }

    @Test("fitting(maxSide:) keeps the aspect ratio and never enlarges")
    func fitting() throws {
        let photo = try ImageFile.read(example("coffee.png"))  // 600 × 400
        let small = photo.fitting(maxSide: 150)
        #expect(small.width == 150 && small.height == 100)
        #expect(photo.fitting(maxSide: 1000) == photo)
    }
}

@Suite("Colour and alpha")
struct ColorTests {
    @Test("RGB to gray uses Rec. 601 luma; gray to RGB replicates")
    func grayConversions() {
        var image = Image(width: 1, height: 1, colorModel: .rgb)
        image[0, 0, 0] = 1
        image[0, 0, 1] = 0.5
        image[0, 0, 2] = 0
        let gray = image.converted(to: .gray)
        #expect(abs(gray[0, 0, 0] - (0.299 + 0.587 * 0.5)) < 1e-6)
        let back = gray.converted(to: .rgb)
        #expect((0..<3).allSatisfy { back[0, 0, $0] == gray[0, 0, 0] })
    }

    @Test("Adding alpha makes it opaque; removing it flattens over the background")
    func alphaConversions() {
        let image = syntheticImage(width: 3, height: 2, model: .rgb)
        let withAlpha = image.converted(to: .rgba)
        #expect((0..<6).allSatisfy { withAlpha[$0 % 3, $0 / 3, 3] == 1 })
        #expect(withAlpha.converted(to: .rgb) == image)
        var half = Image(width: 1, height: 1, colorModel: .grayAlpha)
        half[0, 0, 0] = 0
        half[0, 0, 1] = 0.5
        #expect(half.converted(to: .gray, background: 1)[0, 0, 0] == 0.5)
        #expect(half.converted(to: .rgb, background: 0)[0, 0, 2] == 0)
    }

    @Test("Premultiplying and back restores visible pixels", arguments: [ColorModel.grayAlpha, .rgba])
    func premultiply(model: ColorModel) {
        var image = syntheticImage(width: 7, height: 5, model: model).converted(to: .float32)
        let alpha = model.channels - 1
        for y in 0..<5 { for x in 0..<7 { image[x, y, alpha] = max(image[x, y, alpha], 0.2) } }
        let restored = image.premultiplied().unpremultiplied()
        #expect(maxDifference(restored, image) < 0.01)
    }

    @Test("sRGB and linear light are inverse transfer functions")
    func transfer() {
        for i in 0...255 {
            let value = Float(i) / 255
            #expect(abs(linearToSRGB(srgbToLinear(value)) - value) < 1e-5)
        }
        #expect(abs(srgbToLinear(0.5) - 0.21404) < 1e-4)
    }
}

@Suite("Sample formats")
struct SampleFormatTests {
    @Test("8 → 16 → 8 bits and 8 → float → 8 bits are lossless")
    func widening() {
        let image = syntheticImage(width: 9, height: 7, model: .rgba)
        #expect(image.converted(to: .uint16).converted(to: .uint8) == image)
        #expect(image.converted(to: .float32).converted(to: .uint8) == image)
        let deep = syntheticImage(width: 9, height: 7, model: .rgb, bitDepth: 16)
        #expect(deep.converted(to: .float32).converted(to: .uint16) == deep)
    }

    @Test("Narrowing rounds to nearest, halves up, and clamps what is out of range; NaN becomes 0")
    func narrowing() {
        // 0.5, 0.25 and 0.75 land exactly on 127.5, 63.75 and 191.25 (and 32767.5, …): the half goes up.
        let values: [Float] = [.nan, .infinity, -.infinity, -0.2, 1.7, 0, 1, 0.5, 0.25, 0.75]
        let image = Image(width: values.count, height: 1, colorModel: .gray, samples: values)
        #expect(image.converted(to: .uint8).storage == .uint8([0, 255, 0, 0, 255, 0, 255, 128, 64, 191]))
        #expect(
            image.converted(to: .uint16).storage == .uint16([0, 65535, 0, 0, 65535, 0, 65535, 32768, 16384, 49151]))
        // Every level of both depths survives a trip through Float.
        let all8 = Image(width: 256, height: 1, colorModel: .gray, samples: (0..<256).map { Float($0) / 255 })
        #expect(all8.converted(to: .uint8).storage == .uint8((0..<256).map { UInt8($0) }))
        let all16 = Image(width: 65536, height: 1, colorModel: .gray, samples: (0..<65536).map { Float($0) / 65535 })
        #expect(all16.converted(to: .uint16).storage == .uint16((0..<65536).map { UInt16($0) }))
    }

    @Test("Operations keep the sample format they were given")
    func keepsFormat() {
        let image = syntheticImage(width: 20, height: 10, model: .rgb)
        #expect(image.resized(width: 7, height: 3).sampleFormat == .uint8)
        #expect(image.converted(to: .gray).sampleFormat == .uint8)
        #expect(image.applying(.right).sampleFormat == .uint8)
        #expect(image.converted(to: .uint16).resized(width: 40, height: 20).sampleFormat == .uint16)
    }
}
