/// The EXIF of a TIFF file, as the EXIF blob other formats carry: a TIFF file keeps its camera
/// tags in its own directories (IFD0's Make, Model, DateTime…; the EXIF and GPS sub-directories
/// it points to), not in a separate block, so they are gathered into a small TIFF-structured
/// blob — the shape PNG's eXIf and JPEG's APP1 hold — for a TIFF's metadata to reach a JPEG or
/// PNG written from it. Every offset is bounds-checked: hostile files reach this code.
enum TIFFExif {
    /// IFD0 tags that describe the photo rather than the file's pixel layout.
    static let descriptiveTags: Set<Int> = [
        0x010E, 0x010F, 0x0110, 0x0112, 0x011A, 0x011B, 0x0128, 0x0131, 0x0132, 0x013B, 0x8298,
    ]
    static let exifPointer = 0x8769
    static let gpsPointer = 0x8825
    /// Values larger than this are left out (a maker note can be big; a hostile one, huge).
    static let valueLimit = 1 << 16

    static func extract(_ file: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let reader = TIFFReader(file), let ifd0 = reader.entries(at: reader.ifd0) else { return nil }
        let kept = ifd0.filter { descriptiveTags.contains($0.tag) }
        let exif = ifd0.first { $0.tag == exifPointer }.flatMap { reader.u32($0.offset + 8) }
            .flatMap { reader.entries(at: $0) }?.filter { $0.type != 13 && $0.tag != 0xA005 }
        let gps = ifd0.first { $0.tag == gpsPointer }.flatMap { reader.u32($0.offset + 8) }
            .flatMap { reader.entries(at: $0) }?.filter { $0.type != 13 }
        guard exif?.isEmpty == false || gps?.isEmpty == false || !kept.isEmpty else { return nil }

        var writer = Writer(reader: reader)
        writer.bytes = Array(UnsafeRawBufferPointer(rebasing: file[0..<4]))
        writer.put32(8)
        // IFD0, its pointers filled in once the sub-directories are placed.
        var pointers: [(tag: Int, entries: [TIFFReader.Entry])] = []
        if let exif, !exif.isEmpty { pointers.append((exifPointer, exif)) }
        if let gps, !gps.isEmpty { pointers.append((gpsPointer, gps)) }
        let slots = writer.directory(kept, extra: pointers.map(\.tag))
        for (slot, pointer) in zip(slots, pointers) {
            writer.patch32(at: slot, writer.bytes.count)
            _ = writer.directory(pointer.entries, extra: [])
        }
        return writer.bytes
    }

    /// Builds the blob in the source's byte order, copying values as they are.
    private struct Writer {
        let reader: TIFFReader
        var bytes: [UInt8] = []

        mutating func put16(_ value: Int) { bytes += reader.encoded(value, size: 2) }
        mutating func put32(_ value: Int) { bytes += reader.encoded(value, size: 4) }

        mutating func patch32(at offset: Int, _ value: Int) {
            bytes.replaceSubrange(offset..<(offset + 4), with: reader.encoded(value, size: 4))
        }

        /// Writes a directory of `entries` (values copied, out-of-line ones after it) plus one
        /// LONG entry per tag of `extra`, sorted by tag as TIFF requires; returns where each
        /// extra entry's value is, to be patched with a sub-directory's offset.
        mutating func directory(_ entries: [TIFFReader.Entry], extra: [Int]) -> [Int] {
            let copied = entries.compactMap { entry -> (TIFFReader.Entry, [UInt8])? in
                guard let size = reader.valueSize(entry), size <= valueLimit else { return nil }
                let at = size <= 4 ? entry.offset + 8 : reader.u32(entry.offset + 8) ?? -1
                guard at >= 0, at + size <= reader.bytes.count else { return nil }
                return (entry, Array(UnsafeRawBufferPointer(rebasing: reader.bytes[at..<(at + size)])))
            }
            let all: [(tag: Int, value: (TIFFReader.Entry, [UInt8])?)] =
                (copied.map { ($0.0.tag, $0) } + extra.map { ($0, nil) }).sorted { $0.tag < $1.tag }
            let start = bytes.count
            var data = start + 2 + all.count * 12 + 4
            put16(all.count)
            var slots: [Int] = []
            var pending: [[UInt8]] = []
            for (tag, value) in all {
                put16(tag)
                guard let (entry, payload) = value else {
                    put16(4)
                    put32(1)
                    slots.append(bytes.count)
                    put32(0)
                    continue
                }
                put16(entry.type)
                put32(entry.count)
                if payload.count <= 4 {
                    bytes += payload + [UInt8](repeating: 0, count: 4 - payload.count)
                } else {
                    put32(data)
                    pending.append(payload)
                    data += payload.count + payload.count % 2
                }
            }
            put32(0)
            for payload in pending { bytes += payload + (payload.count % 2 == 1 ? [0] : []) }
            return slots
        }
    }
}

extension TIFFReader {
    /// The entries of the directory at `ifd`, or nil when it is cut short or implausibly long.
    func entries(at ifd: Int) -> [Entry]? {
        guard let count = u16(ifd), count <= 1000, ifd + 2 + count * 12 <= bytes.count else { return nil }
        return (0..<count).compactMap { index in
            let at = ifd + 2 + index * 12
            guard let tag = u16(at), let type = u16(at + 2), let count = u32(at + 4) else { return nil }
            return Entry(tag: tag, type: type, count: count, offset: at)
        }
    }

    /// Bytes of an entry's value, or nil for an unknown type or an absurd count.
    func valueSize(_ entry: Entry) -> Int? {
        let unit: Int
        switch entry.type {
        case 1, 2, 6, 7: unit = 1
        case 3, 8: unit = 2
        case 4, 9, 11, 13: unit = 4
        case 5, 10, 12: unit = 8
        default: return nil
        }
        guard entry.count >= 0, entry.count <= 1 << 24 else { return nil }
        return unit * entry.count
    }
}
