import Foundation
import Testing

let profiles = repository.appendingPathComponent("Tests/ImageCodecsTests/Fixtures/icc")

@Suite("Colour profiles and metadata, checked by ImageMagick and exiftool")
struct PhotoMetadataTests {
    /// coffee.png as a phone would store it: converted to Display P3 by ImageMagick, the profile
    /// embedded, camera EXIF and an XMP title written by exiftool.
    private func displayP3Photo(in root: URL) throws -> URL {
        let photo = root.appendingPathComponent("in/coffee-p3.jpg")
        try FileManager.default.createDirectory(
            at: photo.deletingLastPathComponent(), withIntermediateDirectories: true)
        try run(
            "convert",
            [
                repository.appendingPathComponent("Examples/coffee.png").path,
                "-profile", profiles.appendingPathComponent("srgb.icc").path,
                "-profile", profiles.appendingPathComponent("display-p3.icc").path, "-quality", "95", photo.path,
            ])
        try run(
            "exiftool",
            [
                "-q", "-overwrite_original", "-Make=Canon", "-Model=EOS R5", "-DateTimeOriginal=2026:01:02 03:04:05",
                "-XMP-dc:Title=Coffee", photo.path,
            ])
        return photo
    }

    @Test("A Display P3 JPEG is edited in its own colours and keeps its profile, EXIF and XMP")
    func displayP3() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let p3 = try displayP3Photo(in: root)
        let plain = root.appendingPathComponent("in/coffee.jpg")
        try run(
            "convert", [repository.appendingPathComponent("Examples/coffee.png").path, "-quality", "95", plain.path])
        let out = root.appendingPathComponent("out")
        let applied = try deltaflow([
            "apply", "--before", repository.appendingPathComponent("Examples/astronaut.png").path,
            "--after", repository.appendingPathComponent("Exemplars/astronaut-graded.png").path,
            p3.path, plain.path, "--output", out.path,
        ])
        #expect(applied.status == 0, "\(applied.stderr)")

        let edited = out.appendingPathComponent("coffee-p3.png")
        let found = try tags(edited)
        #expect(found["ICC_Profile:ProfileDescription"] as? String == "Display P3")
        #expect(found["EXIF:Make"] as? String == "Canon")
        #expect(found["EXIF:Model"] as? String == "EOS R5")
        #expect(found["EXIF:DateTimeOriginal"] as? String == "2026:01:02 03:04:05")
        #expect(found["XMP:Title"] as? String == "Coffee")
        let info = try deltaflow(["info", edited.path])
        #expect(info.stdout.contains("profile Display P3, EXIF, XMP"), "\(info.stdout)")

        // In sRGB (ImageMagick converting by the embedded profile), the P3 photo's result is the
        // plain photo's result, up to the two JPEGs' own differences (measured 0.009); its P3
        // numbers read as if sRGB — what a tool ignoring profiles edits — are 0.06 away.
        let inSRGB = root.appendingPathComponent("p3-in-srgb.png")
        try run("convert", [edited.path, "-profile", profiles.appendingPathComponent("srgb.icc").path, inSRGB.path])
        let reference = out.appendingPathComponent("coffee.png")
        let managed = try rmse(reference, inSRGB)
        let unmanaged = try rmse(reference, edited)
        #expect(managed < 0.02, "RMSE \(managed) in sRGB")
        #expect(unmanaged > 2 * managed, "RMSE \(unmanaged) ignoring the profile")
    }

    @Test("save writes JPEG with the profile and EXIF, or strips them for the web (metadata: strip, profile: srgb)")
    func saveOptions() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let p3 = try displayP3Photo(in: root)
        let workflow = root.appendingPathComponent("copy.yaml")
        try """
        version: 1
        params:
          input: {type: path}
          output: {type: path}
        nodes:
          photo: {node: load, each: $input}
          kept: {node: save, image: $photo.image, dir: $output, name: "kept/{stem}.jpg", quality: 95}
          web: {node: save, image: $photo.image, dir: $output, name: "web/{stem}.jpg", quality: 95, metadata: strip, profile: srgb}
          kept_png: {node: save, image: $photo.image, dir: $output, name: "kept/{stem}.png"}
          web_png: {node: save, image: $photo.image, dir: $output, name: "web/{stem}.png", metadata: strip, profile: srgb}
        """.write(to: workflow, atomically: true, encoding: .utf8)
        let out = root.appendingPathComponent("out")
        let result = try deltaflow(["run", workflow.path, "--set", "input=\(p3.path)", "--set", "output=\(out.path)"])
        #expect(result.status == 0, "\(result.stderr)")

        let kept = try tags(out.appendingPathComponent("kept/coffee-p3.jpg"))
        #expect(kept["ICC_Profile:ProfileDescription"] as? String == "Display P3")
        #expect(kept["EXIF:Model"] as? String == "EOS R5")
        #expect(kept["XMP:Title"] as? String == "Coffee")
        let web = try tags(out.appendingPathComponent("web/coffee-p3.jpg"))
        #expect(web["ICC_Profile:ProfileDescription"] == nil)
        #expect(web["EXIF:Model"] == nil)
        #expect(web["XMP:Title"] == nil)

        // Both show the colours of ImageMagick's own sRGB conversion of the P3 original (PNG
        // outputs, so JPEG's loss does not hide a difference: measured 0.002, against 0.035 for
        // the P3 numbers read as sRGB).
        let reference = root.appendingPathComponent("reference.png")
        try run("convert", [p3.path, "-profile", profiles.appendingPathComponent("srgb.icc").path, reference.path])
        let keptInSRGB = root.appendingPathComponent("kept.png")
        try run(
            "convert",
            [
                out.appendingPathComponent("kept/coffee-p3.png").path, "-profile",
                profiles.appendingPathComponent("srgb.icc").path, keptInSRGB.path,
            ])
        #expect(try rmse(reference, keptInSRGB) < 0.01)
        #expect(try rmse(reference, out.appendingPathComponent("web/coffee-p3.png")) < 0.01)
        #expect(try rmse(reference, p3) > 0.03, "the P3 numbers differ from sRGB's, or this checks nothing")
    }

    @Test(
        "A CMYK JPEG is shown through its profile, as ImageMagick shows it (relative colorimetric, black point compensated)"
    )
    func cmykJPEG() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // Ghostscript's SWOP profile (Debian's libgs-common, which .ci/install --tests installs).
        let swop = "/usr/share/color/icc/ghostscript/default_cmyk.icc"
        try #require(FileManager.default.fileExists(atPath: swop), "run 'bash .ci/install --tests'")
        let photo = root.appendingPathComponent("in/print.jpg")
        try FileManager.default.createDirectory(
            at: photo.deletingLastPathComponent(), withIntermediateDirectories: true)
        let srgb = profiles.appendingPathComponent("srgb.icc").path
        try run(
            "convert",
            [
                repository.appendingPathComponent("Examples/coffee.png").path, "-profile", srgb, "-profile", swop,
                "-quality", "95", photo.path,
            ])
        let out = root.appendingPathComponent("out")
        let converted = try deltaflow(["convert", photo.path, "-o", out.path, "--format", "png"])
        #expect(converted.status == 0, "\(converted.stderr)")
        let ours = out.appendingPathComponent("print.png")
        let theirs = root.appendingPathComponent("imagemagick.png")
        try run(
            "convert", [photo.path, "-intent", "Relative", "-black-point-compensation", "-profile", srgb, theirs.path])
        // Measured 0.0033; the plain CMYK formula (what was done before) is 0.078 away.
        #expect(try rmse(ours, theirs) < 0.01)
        #expect(try tags(ours)["ICC_Profile:ProfileDescription"] == nil, "a CMYK profile cannot describe RGB")
    }

    @Test(
        "PNG and WebP photos whose EXIF says 'rotate 90° CW' are read upright, like JPEGs", arguments: ["png", "webp"])
    func exifOrientationInPNGAndWebP(format: String) throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let photo = root.appendingPathComponent("in/turned.\(format)")
        try FileManager.default.createDirectory(
            at: photo.deletingLastPathComponent(), withIntermediateDirectories: true)
        try run("convert", [repository.appendingPathComponent("Examples/coffee.png").path, photo.path])
        try run("exiftool", ["-q", "-overwrite_original", "-Orientation#=6", photo.path])
        #expect(try tags(photo)["EXIF:Orientation"] as? String == "Rotate 90 CW")
        let out = root.appendingPathComponent("out")
        let converted = try deltaflow(["convert", photo.path, "-o", out.path])
        #expect(converted.status == 0, "\(converted.stderr)")
        let written = out.appendingPathComponent("turned.\(format)")
        let size = try run("identify", ["-format", "%wx%h", written.path])
        #expect(size == "400x600", "coffee.png is 600x400; turned, 400x600")
        #expect(try tags(written)["EXIF:Orientation"] as? String == "Horizontal (normal)")
    }

    @Test(
        "A TIFF's camera tags (IFD0, EXIF and GPS directories) reach a JPEG written from it, in either byte order",
        arguments: ["LSB", "MSB"])
    func tiffCameraTags(endian: String) throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let photo = root.appendingPathComponent("in/scan.tif")
        try FileManager.default.createDirectory(
            at: photo.deletingLastPathComponent(), withIntermediateDirectories: true)
        try run(
            "convert", [repository.appendingPathComponent("Examples/coffee.png").path, "-endian", endian, photo.path])
        try run(
            "exiftool",
            [
                "-q", "-overwrite_original", "-Make=Hasselblad", "-Model=X2D",
                "-DateTimeOriginal=2026:03:04 05:06:07", "-GPSLatitude=48.85", "-GPSLatitudeRef=N",
                "-Artist=A. Photographer", "-UserComment=a comment longer than four bytes", photo.path,
            ])
        let out = root.appendingPathComponent("out")
        let converted = try deltaflow(["convert", photo.path, "-o", out.path, "--format", "jpeg"])
        #expect(converted.status == 0, "\(converted.stderr)")
        let found = try tags(out.appendingPathComponent("scan.jpg"))
        #expect(found["EXIF:Make"] as? String == "Hasselblad")
        #expect(found["EXIF:Model"] as? String == "X2D")
        #expect(found["EXIF:DateTimeOriginal"] as? String == "2026:03:04 05:06:07")
        #expect(found["EXIF:Artist"] as? String == "A. Photographer")
        #expect(found["EXIF:UserComment"] as? String == "a comment longer than four bytes")
        #expect(found["EXIF:GPSLatitudeRef"] as? String == "North", "\(found.keys.sorted())")
    }

    @Test(
        "A JPEG turned upright and resized is written so, its EXIF orientation and size saying so, its other tags kept")
    func orientation() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let photo = root.appendingPathComponent("in/turned.jpg")
        try FileManager.default.createDirectory(
            at: photo.deletingLastPathComponent(), withIntermediateDirectories: true)
        try run("convert", [repository.appendingPathComponent("Examples/coffee.png").path, photo.path])
        let source = try tags(photo)
        try run(
            "exiftool",
            [
                "-q", "-overwrite_original", "-Orientation#=6", "-Make=Nikon",
                "-ExifImageWidth=\(source["File:ImageWidth"] as? Int ?? 0)",
                "-ExifImageHeight=\(source["File:ImageHeight"] as? Int ?? 0)", photo.path,
            ])
        let out = root.appendingPathComponent("out")
        let result = try deltaflow([
            "run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path,
            "--set", "input=\(photo.deletingLastPathComponent().path)", "--set", "output=\(out.path)",
            "--set", "max_side=200",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try #require(
            try FileManager.default.contentsOfDirectory(at: out, includingPropertiesForKeys: nil).first)
        let found = try tags(written)
        #expect(found["EXIF:Make"] as? String == "Nikon")
        #expect(found["EXIF:Orientation"] as? String == "Horizontal (normal)")
        let (width, height) = (found["File:ImageWidth"] as? Int ?? 0, found["File:ImageHeight"] as? Int ?? 0)
        #expect(width < height, "coffee.png is landscape; orientation 6 makes it portrait (\(width)x\(height))")
        #expect((source["File:ImageWidth"] as? Int ?? 0) > (source["File:ImageHeight"] as? Int ?? 0))
        // EXIF's pixel dimensions say the size written — turned and resized —, not the camera's.
        #expect(height == 200)
        #expect(found["EXIF:ExifImageWidth"] as? Int == width && found["EXIF:ExifImageHeight"] as? Int == height)
    }
}

@Suite("TIFF and WebP, between deltaflow and ImageMagick")
struct TIFFWebPInteropTests {
    @Test("ImageMagick's 16-bit LZW TIFF, tiled TIFF and WebP read as ImageMagick reads them; ours open in ImageMagick")
    func bothWays() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let source = repository.appendingPathComponent("Examples/chelsea.png")
        let inputs = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let made: [(name: String, arguments: [String])] = [
            ("lzw16.tif", ["-depth", "16", "-compress", "LZW"]),
            ("tiled.tif", ["-define", "tiff:tile-geometry=64x64", "-compress", "Zip"]),
            ("photo.webp", ["-quality", "85"]),
        ]
        for file in made {
            try run("convert", [source.path] + file.arguments + [inputs.appendingPathComponent(file.name).path])
        }
        let out = root.appendingPathComponent("png")
        let converted = try deltaflow(["convert", inputs.path, "--output", out.path, "--format", "png"])
        #expect(converted.status == 0, "\(converted.stderr)")
        for file in made {
            let stem = URL(fileURLWithPath: file.name).deletingPathExtension().lastPathComponent
            let reference = root.appendingPathComponent("\(stem)-imagemagick.png")
            try run("convert", [inputs.appendingPathComponent(file.name).path, "PNG48:\(reference.path)"])
            let error = try peakDifference(reference, out.appendingPathComponent("\(stem).png"))
            #expect(error <= 1.0 / 255, "\(file.name): \(error * 255)/255 from ImageMagick's reading")
        }

        // deltaflow writes TIFF and WebP; ImageMagick reads them back as the source.
        for format in ["tiff", "webp"] {
            let written = root.appendingPathComponent(format)
            let result = try deltaflow([
                "convert", source.path, "--output", written.path, "--format", format, "--quality", "100",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let file = written.appendingPathComponent(format == "tiff" ? "chelsea.tif" : "chelsea.webp")
            let difference = try rmse(source, file)
            #expect(difference < (format == "tiff" ? 1e-9 : 0.02), "\(format): RMSE \(difference)")
        }
    }
}
