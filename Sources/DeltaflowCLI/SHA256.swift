import CCrypto
import Foundation

/// SHA-256 from libcrypto: what a user allows (a workflow, a plugin library) is named by the
/// digest `sha256sum` prints, so they can check it against what its author published.
enum SHA256 {
    static func hex(_ bytes: some DataProtocol) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let data = Data(bytes)
        let ok = data.withUnsafeBytes { buffer in
            EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1, "libcrypto could not compute SHA-256")
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    /// The digest of a file's contents, or nil when it cannot be read.
    static func hex(file path: String) -> String? {
        FileManager.default.contents(atPath: path).map { hex($0) }
    }
}
