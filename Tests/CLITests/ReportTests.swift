import Foundation
import Testing

/// Opens `page` in headless Chromium; returns the DOM after its scripts ran and the console
/// messages Chromium logged.
private func chromium(_ page: URL) throws -> (dom: String, console: [String]) {
    let result = try runProgram(
        try tool("chromium"),
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--enable-logging=stderr",
            "--v=0", "--virtual-time-budget=10000", "--dump-dom", page.absoluteString,
        ])
    #expect(result.status == 0, "chromium: \(result.stderr)")
    return (result.stdout, result.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init))
}

@Suite("The HTML report, opened in headless Chromium")
struct ReportTests {
    @Test("apply's report loads without console errors, every image resolves, every slider moves its cut")
    func applyReport() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("shoot")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for name in ["coffee.png", "camera.png"] {
            try FileManager.default.copyItem(
                at: repository.appendingPathComponent("Examples/\(name)"), to: input.appendingPathComponent(name))
        }
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(
            to: input.appendingPathComponent("broken.png"))
        let out = root.appendingPathComponent("out")
        let applied = try deltaflow([
            "apply", "--before", repository.appendingPathComponent("Examples/astronaut.png").path,
            "--after", repository.appendingPathComponent("Exemplars/astronaut-graded.png").path,
            input.path, "--output", out.path,
        ])
        #expect(applied.status == 3, "one photo is broken: \(applied.stderr)")
        let report = out.appendingPathComponent("report.html")
        #expect(applied.stdout.contains("report: \(report.path)"))

        let alone = try chromium(report)
        #expect(alone.console.isEmpty, "console: \(alone.console)")
        #expect(alone.dom.contains("What the fit found") && alone.dom.contains("colour step"))
        #expect(alone.dom.contains("2 done · 1 failed"))

        // A page beside it frames the report and works it as a user would (file pages may read
        // each other with --allow-file-access-from-files).
        let harness = root.appendingPathComponent("harness.html")
        try """
        <!doctype html><html><body><pre id="result">pending</pre>
        <iframe id="report" src="out/report.html" width="1200" height="900"></iframe>
        <script>
        document.getElementById('report').onload = () => {
          const page = document.getElementById('report').contentDocument;
          const images = [...page.images];
          const figures = [...page.querySelectorAll('figure.compare')];
          let moved = 0;
          for (const figure of figures) {
            const slider = figure.querySelector('input');
            slider.value = 20;
            slider.dispatchEvent(new Event('input'));
            if (getComputedStyle(figure.querySelector('img.after')).clipPath.includes('20%')) moved++;
          }
          const failed = [...page.querySelectorAll('tr.failed')].map(row => row.textContent);
          document.getElementById('result').textContent = JSON.stringify({
            images: images.length,
            loaded: images.filter(image => image.complete && image.naturalWidth > 0).length,
            sliders: figures.length, moved, failed, masks: page.querySelectorAll('figure.mask img').length
          });
        };
        </script></body></html>
        """.write(to: harness, atomically: true, encoding: .utf8)
        let framed = try chromium(harness)
        #expect(framed.console.isEmpty, "console: \(framed.console)")
        let json = try #require(
            framed.dom.split(separator: "<pre id=\"result\">").last?.split(separator: "</pre>").first)
        let found = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
        // The exemplar pair and two photos with results: three sliders; the broken photo has none.
        #expect(found["sliders"] as? Int == 3)
        #expect(found["moved"] as? Int == 3)
        #expect((found["images"] as? Int ?? 0) >= 8)  // 3 × 2 slider images and 2 masks
        #expect(found["loaded"] as? Int == found["images"] as? Int)
        #expect(found["masks"] as? Int == 2)
        let failed = found["failed"] as? [String] ?? []
        #expect(failed.count == 1 && failed.first?.contains("broken.png") == true)
    }

    @Test("--sample 2 runs the first and last photo only; --resume then does the rest")
    func sample() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out")
        let arguments = [
            "run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path, "--set",
            "input=\(repository.appendingPathComponent("Examples").path)", "--set", "output=\(out.path)",
        ]
        let sampled = try deltaflow(
            arguments + ["--sample", "2", "--report", root.appendingPathComponent("r.html").path])
        #expect(sampled.status == 0, "\(sampled.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(names == ["astronaut.jpg", "rocket.jpg"])
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("r.html").path))
        let rest = try deltaflow(arguments + ["--resume"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(rest.stdout.contains("done 3"), "\(rest.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).count == 5)
    }
}
