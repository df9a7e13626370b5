/// The one shape of every error a user reads: what went wrong, where (a file, a node), and how
/// to fix it — printed as `where: what (how)`, the form compilers and linters use.
public protocol UserFacingError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in the user's words ("truncated JPEG data").
    var reason: String { get }
    /// Where: the file concerned, when there is one.
    var location: String? { get }
    /// What the user can do about it.
    var help: String? { get }
}

extension UserFacingError {
    public var description: String {
        (location.map { "\($0): " } ?? "") + reason + (help.map { " (\($0))" } ?? "")
    }
}
