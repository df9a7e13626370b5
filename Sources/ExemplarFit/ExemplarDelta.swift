import NodeKit

/// One part of an exemplar's delta, stored as named arrays of a ``Delta`` (the form the engine
/// caches and plugins see). A part owns its arrays' names and shapes and what `delta_combine`
/// does with it; ``ExemplarDelta`` is the list of parts.
package protocol DeltaComponent: Equatable, Sendable {
    /// Its arrays' names and shapes, as stored.
    static var layout: [(name: String, shape: [Int])] { get }
    /// How many times what it stores has changed meaning; ``ExemplarDelta/version`` is the sum,
    /// so a cached delta from before a change is never read as one after it.
    static var revision: Int { get }
    /// From its arrays' values, in ``layout``'s order (their shapes already checked).
    init(values: [[Float]])
    /// Its arrays' values, in ``layout``'s order.
    var values: [[Float]] { get }
    /// `Σ weightᵢ · partᵢ`: what `delta_combine` gives.
    static func combination(_ terms: [(part: Self, weight: Double)]) -> Self
    /// Whether a delta may lack it (the trust, where the edit models were not installed).
    static var isOptional: Bool { get }
}

extension DeltaComponent {
    /// Array by array: every part stored so far is an offset from "no edit" (a difference, a
    /// map minus the identity, a covariance), so weighted sums scale and compose the edits.
    package static func combination(_ terms: [(part: Self, weight: Double)]) -> Self {
        let values = terms.map { (values: $0.part.values, weight: $0.weight) }
        return Self(
            values: layout.indices.map { index in Delta.weightedSum(values.map { ($0.values[index], $0.weight) }) })
    }

    package static var isOptional: Bool { false }

    /// Whether `delta` holds every array of this part, with its shape.
    static func isStored(in delta: Delta) -> Bool { layout.allSatisfy { delta[$0.name]?.shape == $0.shape } }

    /// This part of `delta`, or nil when it lacks one of the arrays.
    package init?(storedIn delta: Delta) {
        guard Self.isStored(in: delta) else { return nil }
        self.init(values: Self.layout.map { delta[$0.name]!.values })
    }

    /// Its arrays by name.
    package var arrays: [String: Delta.Array] {
        Dictionary(
            uniqueKeysWithValues: zip(Self.layout, values).map {
                ($0.0.name, Delta.Array(shape: $0.0.shape, values: $0.1))
            })
    }

    /// "'name' [shape]" for each array, for messages.
    package static var described: [String] { layout.map { "'\($0.name)' \($0.shape)" } }
}

/// `encode_delta`'s output, typed: the exemplar's edit as the nodes read it. The format is
/// documented in Docs/delta-format.md; a new part is one new ``DeltaComponent`` type, listed in
/// ``parts`` and stored here.
package struct ExemplarDelta: Equatable, Sendable {
    package var semantic: SemanticDelta
    package var affine: ColourAffine
    package var fit: ExemplarFit
    package var change: ChangeGrid
    /// encode_delta's verdict on the edit models' correction; only where they were installed.
    package var trust: ModelTrust?

    /// Every part, in the order the format lists them.
    static let parts: [any DeltaComponent.Type] = [
        SemanticDelta.self, ColourAffine.self, SpatialFilter.self, ColourCurves.self, HueShift.self, ChromaGain.self,
        ColorTable.self,
        FrameField.self, LearnedOperator.self, Grain.self, ChangeGrid.self, ModelTrust.self,
    ]

    /// The format's version: the sum of its parts' revisions.
    package static let version = parts.reduce(0) { $0 + $1.revision }
    /// The name the delta is stored under; it also salts the cache key.
    package static let encoder = "\(SemanticDelta.encoder)/\(version)"

    package init(
        semantic: SemanticDelta, affine: ColourAffine, fit: ExemplarFit, change: ChangeGrid, trust: ModelTrust?
    ) {
        self.semantic = semantic
        self.affine = affine
        self.fit = fit
        self.change = change
        self.trust = trust
    }

    /// Reads and checks `delta`: from this encoder, with every part (the trust may be absent).
    package init(_ delta: Delta) throws(NodeError) {
        guard delta.encoder == Self.encoder else {
            throw NodeError(
                "this delta comes from encoder '\(delta.encoder)', but the edit model reads '\(Self.encoder)' deltas; compute it with encode_delta"
            )
        }
        let missing = Self.parts.filter { !$0.isOptional && !$0.isStored(in: delta) }
        guard missing.isEmpty else {
            let arrays = missing.map { part in part.described.joined(separator: ", ") }
            throw NodeError("this delta lacks \(arrays.joined(separator: ", ")); compute it with encode_delta")
        }
        func part<Part: DeltaComponent>(_: Part.Type) -> Part { Part(storedIn: delta)! }
        self.init(
            semantic: part(SemanticDelta.self), affine: part(ColourAffine.self),
            fit: ExemplarFit(
                spatial: part(SpatialFilter.self),
                colour: ColourStep(
                    curves: part(ColourCurves.self), hue: part(HueShift.self), chroma: part(ChromaGain.self),
                    table: part(ColorTable.self)),
                field: part(FrameField.self), learned: part(LearnedOperator.self), grain: part(Grain.self)),
            change: part(ChangeGrid.self), trust: ModelTrust(storedIn: delta))
    }

    /// As stored.
    package var delta: Delta {
        var arrays = semantic.arrays
        let parts: [[String: Delta.Array]] = [
            affine.arrays, fit.spatial.arrays, fit.colour.curves.arrays, fit.colour.hue.arrays,
            fit.colour.chroma.arrays,
            fit.colour.table.arrays,
            fit.field.arrays, fit.learned.arrays, fit.grain.arrays, change.arrays, trust?.arrays ?? [:],
        ]
        for part in parts { arrays.merge(part) { first, _ in first } }
        return Delta(encoder: Self.encoder, arrays: arrays)
    }

    /// This delta at `weight` (0: no edit, 1: itself): what `delta_combine` and `adapter_edit`'s
    /// `strength` give.
    package func scaled(by weight: Double) -> ExemplarDelta { Self.combination([(self, weight)]) }

    /// `Σ weightᵢ · deltaᵢ`, part by part (the trust only where every delta has one).
    package static func combination(_ terms: [(delta: ExemplarDelta, weight: Double)]) -> ExemplarDelta {
        func combined<Part: DeltaComponent>(_ part: (ExemplarDelta) -> Part) -> Part {
            Part.combination(terms.map { (part($0.delta), $0.weight) })
        }
        let trusts = terms.compactMap { term in term.delta.trust.map { (part: $0, weight: term.weight) } }
        let colour = ColourStep(
            curves: combined(\.fit.colour.curves), hue: combined(\.fit.colour.hue),
            chroma: combined(\.fit.colour.chroma), table: combined(\.fit.colour.table))
        return ExemplarDelta(
            semantic: combined(\.semantic), affine: combined(\.affine),
            fit: ExemplarFit(
                spatial: combined(\.fit.spatial), colour: colour, field: combined(\.fit.field),
                learned: combined(\.fit.learned),
                grain: combined(\.fit.grain)),
            change: combined(\.change), trust: trusts.count == terms.count ? ModelTrust.combination(trusts) : nil)
    }
}

extension ExemplarDelta {
    /// What the fit found, in words, one line per part: what a run report shows beside the pair.
    package var summary: [String] {
        var lines: [String] = []
        let spatial = fit.spatial
        if spatial == .none {
            lines.append("spatial filter: none")
        } else {
            lines.append(String(format: "spatial filter: \(spatial.words), amount %.2f", spatial.k))
        }
        let colour = fit.colour
        var steps: [String] = []
        if colour.curves.mix != 0 || colour.curves.luma.contains(where: { $0 != 0 }) {
            steps.append("tone curves of the luma")
        }
        if colour.curves.channel.contains(where: { $0 != 0 }) { steps.append("tone curves per channel") }
        if !colour.hue.isNone { steps.append("hue shift") }
        if !colour.chroma.isNone { steps.append("saturation per hue") }
        if colour.table.offsets.contains(where: { $0 != 0 }) { steps.append("3D colour table") }
        lines.append("colour step: " + (steps.isEmpty ? "none" : steps.joined(separator: " and ")))
        lines.append("frame field: " + (fit.field.isNone ? "none" : "gain and tint varying across the frame"))
        lines.append(
            "learned operator: " + (fit.learned.isNone ? "none" : "fitted on the pair (local texture and position)"))
        lines.append("grain: " + (fit.grain.isNone ? "none" : "added"))
        lines.append(String(format: "edit models' correction: trust %.2f", trust?.weight ?? 0))
        return lines
    }
}
