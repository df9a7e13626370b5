import Dispatch
import ExemplarFit
import Foundation
import ImageCodecs
import NodeKit
import Synchronization
import Workflow

/// A run as one self-contained HTML page (`--report`): the exemplar pair and what the fit found,
/// every photo beside its result with a before/after slider, masks, statuses, errors and
/// timings. Thumbnails are made by deltaflow and embedded, so the page opens anywhere, offline.
final class RunReport {
    /// Thumbnails' longer side, in pixels.
    static let thumbnailSide = 360
    /// Photos shown with pictures; the rest are listed (a page of thousands of sliders is no look).
    static let picturedItems = 400

    let path: String
    private var runs: [(workflow: Workflow, summary: RunSummary)] = []

    init(path: String) { self.path = path }

    func add(_ summary: RunSummary, workflow: Workflow) { runs.append((workflow, summary)) }

    /// Writes the page atomically (a viewer never sees half of it).
    func write() throws {
        try AtomicFile.createDirectories(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        try AtomicFile.write(Array(html().utf8), to: path)
    }

    // MARK: - The page

    private func html() -> String {
        let items = runs.flatMap { run in run.summary.items }
        let title = runs.first.map { "deltaflow: \($0.workflow.name)" } ?? "deltaflow"
        var counts: [String] = []
        for (status, label) in [
            (ItemResult.Status.done, "done"), (.failed, "failed"), (.skipped, "not run"),
            (.alreadyDone, "already done"), (.filtered, "filtered by a condition"),
        ] {
            let n = items.filter { $0.status == status }.count
            if n > 0 || status == .done || status == .failed { counts.append("\(n) \(label)") }
        }
        let seconds = runs.reduce(0) { $0 + $1.summary.seconds }
        var page = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(htmlEscaped(title))</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <header>
            <h1>\(htmlEscaped(title))</h1>
            <p class="counts">\(counts.joined(separator: " · ")) in \(String(format: "%.1f", seconds)) s · \
            \(Self.timestamp())</p>
            </header>

            """
        page += exemplarSection()
        page += itemsSection(items)
        page += "<script>\(Self.script)</script>\n</body>\n</html>\n"
        return page
    }

    /// The exemplar pairs (from `load_pairs`) and each delta's summary (from `encode_delta`).
    private func exemplarSection() -> String {
        var pairs: [(Image, Image)] = []
        var fits: [String] = []
        for run in runs.prefix(1) {
            for node in run.workflow.nodes where node.scope == .once {
                guard let outputs = run.summary.shared[node.name] else { continue }
                if node.kind == "load_pairs", case .images(let befores)? = outputs["before"],
                    case .images(let afters)? = outputs["after"]
                {
                    pairs += zip(befores, afters).map { ($0, $1) }
                }
                for case .delta(let delta) in outputs.values {
                    if let typed = try? ExemplarDelta(delta) {
                        fits += typed.summary
                    } else {
                        fits.append("delta from \(delta.encoder)")
                    }
                }
            }
        }
        guard !pairs.isEmpty || !fits.isEmpty else { return "" }
        let cells = Cells(path: path)
        var section = "<section id=\"exemplar\">\n<h2>Exemplar</h2>\n<div class=\"pairs\">\n"
        for (index, pair) in pairs.enumerated() {
            let label = pairs.count == 1 ? "the exemplar" : "pair \(index + 1) of \(pairs.count)"
            section += cells.comparison(
                before: cells.thumbnail(pair.0), after: cells.thumbnail(pair.1), caption: label, width: pair.0.width,
                height: pair.0.height)
        }
        section += "</div>\n"
        if !fits.isEmpty {
            section += "<h3>What the fit found</h3>\n<ul class=\"fit\">\n"
            section += fits.map { "<li>\(htmlEscaped($0))</li>\n" }.joined()
            section += "</ul>\n"
        }
        return section + "</section>\n"
    }

    private func itemsSection(_ items: [ItemResult]) -> String {
        let pictured = Array(items.prefix(Self.picturedItems))
        // Thumbnails decode every input and result again: spread over the cores.
        let rows = Mutex([String](repeating: "", count: pictured.count))
        let cells = Cells(path: path)
        DispatchQueue.concurrentPerform(iterations: pictured.count) { index in
            let row = cells.row(pictured[index])
            rows.withLock { $0[index] = row }
        }
        var section = "<section id=\"photos\">\n<h2>Photos</h2>\n<table>\n"
        section += "<thead><tr><th>photo and result</th><th>mask</th><th>status</th></tr></thead>\n<tbody>\n"
        section += rows.withLock { $0.joined() }
        for item in items.dropFirst(Self.picturedItems) {
            section +=
                "<tr class=\"\(item.status.rawValue)\"><td>\(htmlEscaped(item.label))</td><td></td>"
            section += "<td>\(cells.status(item))</td></tr>\n"
        }
        section += "</tbody>\n</table>\n"
        if items.count > Self.picturedItems {
            section += "<p class=\"note\">The first \(Self.picturedItems) of \(items.count) photos are pictured.</p>\n"
        }
        return section + "</section>\n"
    }

    private static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }

    private static let style = """
        body { font: 15px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em; color: #222; }
        h1 { font-size: 1.4em; margin-bottom: 0.2em; }
        .counts { color: #555; margin-top: 0; }
        .pairs { display: flex; flex-wrap: wrap; gap: 1em; }
        figure { margin: 0; }
        .compare { position: relative; width: 360px; max-width: 100%; }
        .compare img { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
        .compare input { position: absolute; left: 0; right: 0; bottom: 1.6em; width: 100%; margin: 0; }
        .compare figcaption, .single figcaption, .mask figcaption { position: absolute; top: 100%; font-size: 0.85em; color: #555; }
        .compare { margin-bottom: 1.6em; }
        .single img { max-width: 360px; display: block; }
        .single, .mask { position: relative; margin-bottom: 1.6em; }
        .mask img { max-width: 180px; display: block; border: 1px solid #bbb; }
        table { border-collapse: collapse; width: 100%; }
        td, th { border-top: 1px solid #ddd; padding: 0.6em; vertical-align: top; text-align: left; }
        tr.failed .status { color: #b00; font-weight: bold; }
        tr.done .status { color: #070; }
        .error { color: #b00; white-space: pre-wrap; }
        .time, .note { color: #666; }
        """

    /// The sliders: each moves the cut between its before and after.
    private static let script = """
        for (const figure of document.querySelectorAll('figure.compare')) {
          const slider = figure.querySelector('input');
          const after = figure.querySelector('img.after');
          slider.addEventListener('input', () => { after.style.clipPath = `inset(0 0 0 ${slider.value}%)`; });
        }
        """
}

/// The page's pieces that need no state but the page's own path, so rows are made in parallel.
private struct Cells: Sendable {
    let path: String

    func row(_ result: ItemResult) -> String {
        // Previews the run kept; the files are read only for items it did not process now.
        let input = result.inputPreview ?? (try? ImageFile.read(result.item.path))
        let output =
            result.outputPreview
            ?? result.outputs.lazy
            .filter { ImageFormat(pathExtension: URL(fileURLWithPath: $0).pathExtension) != nil }
            .compactMap { try? ImageFile.read($0) }.first
        var cells = "<tr class=\"\(result.status.rawValue)\">\n<td>"
        if let input, let output {
            cells += comparison(
                before: thumbnail(input), after: thumbnail(output), caption: result.label,
                width: output.width, height: output.height)
        } else if let picture = input ?? output {
            cells +=
                "<figure class=\"single\"><img src=\"\(thumbnail(picture))\" alt=\"\(htmlEscaped(result.label))\">"
            cells += "<figcaption>\(htmlEscaped(result.label))</figcaption></figure>"
        } else {
            cells += htmlEscaped(result.label)
        }
        cells += "</td>\n<td>"
        for name in result.masks.keys.sorted() {
            cells +=
                "<figure class=\"mask\"><img src=\"\(thumbnail(result.masks[name]!))\" alt=\"mask \(htmlEscaped(name))\">"
            cells += "<figcaption>\(htmlEscaped(name))</figcaption></figure>"
        }
        return cells + "</td>\n<td>\(status(result))</td>\n</tr>\n"
    }

    func status(_ result: ItemResult) -> String {
        var text =
            "<span class=\"status\">\(htmlEscaped(result.status.rawValue.replacingOccurrences(of: "_", with: " ")))</span>"
        if result.seconds > 0 { text += " <span class=\"time\">\(String(format: "%.2f s", result.seconds))</span>" }
        if let node = result.failedNode { text += "<p class=\"error\">in node '\(htmlEscaped(node))': " }
        if let message = result.message {
            text += (result.failedNode == nil ? "<p class=\"error\">" : "") + htmlEscaped(message) + "</p>"
        }
        for output in result.outputs {
            text +=
                "<br><a href=\"\(htmlEscaped(link(to: output)))\">\(htmlEscaped(URL(fileURLWithPath: output).lastPathComponent))</a>"
        }
        return text
    }

    /// A before/after pair: the after drawn over the before, cut at the slider.
    func comparison(before: String, after: String, caption: String, width: Int, height: Int) -> String {
        """
        <figure class="compare" style="aspect-ratio: \(max(width, 1)) / \(max(height, 1))">
        <img class="before" src="\(before)" alt="before: \(htmlEscaped(caption))">
        <img class="after" src="\(after)" alt="after: \(htmlEscaped(caption))" style="clip-path: inset(0 0 0 50%)">
        <input type="range" min="0" max="100" value="50" aria-label="before and after: \(htmlEscaped(caption))">
        <figcaption>\(htmlEscaped(caption))</figcaption>
        </figure>

        """
    }

    /// A JPEG thumbnail as a data URI, in sRGB (what browsers assume of an untagged image).
    func thumbnail(_ image: Image) -> String {
        let small = image.fitting(maxSide: RunReport.thumbnailSide)
        let bytes = (try? ImageFile.encode(small, options: .jpeg(JPEGOptions(quality: 82)))) ?? []
        return "data:image/jpeg;base64," + Data(bytes).base64EncodedString()
    }

    /// A link to a written file: relative to the page when it is under the page's directory.
    func link(to file: String) -> String {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        let target = URL(fileURLWithPath: file).standardizedFileURL
        if target.path.hasPrefix(directory + "/") {
            return String(target.path.dropFirst(directory.count + 1)).addingPercentEncoding(
                withAllowedCharacters: .urlPathAllowed) ?? target.lastPathComponent
        }
        return target.absoluteString
    }

}

/// `text` safe inside HTML text and attribute values.
private func htmlEscaped(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}
