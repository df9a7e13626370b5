import TensorCore

/// The dense solvers the fit needs: normal equations of a few dozen unknowns and 3×3 colour
/// matrices by the loops here, too small for LAPACK's call overhead to pay; the operator's and the
/// frame field's hundreds of unknowns by LAPACK, several times faster than these loops there.
enum Cholesky {
    /// From this many unknowns on, ``solve(_:_:size:)`` calls LAPACK.
    static let lapackSize = 64

    /// The lower-triangular L (row-major `n`×`n`) with L·Lᵀ = `a`, column by column.
    ///
    /// `semidefinite`: a direction in which `a` is not positive contributes nothing, and no row of L
    /// outgrows its diagonal entry — robust covariance estimates, and deltas combined with a negative
    /// weight, need not be positive definite.
    static func factor(_ a: [Double], size n: Int, semidefinite: Bool = false) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var d = a[j * n + j]
            for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
            if semidefinite && d <= 1e-12 { continue }
            let root = semidefinite ? d.squareRoot() : max(d, 1e-300).squareRoot()
            l[j * n + j] = root
            for i in (j + 1)..<max(j + 1, n) {
                var s = a[i * n + j]
                var used = 0.0
                for k in 0..<j {
                    s -= l[i * n + k] * l[j * n + k]
                    used += l[i * n + k] * l[i * n + k]
                }
                guard semidefinite else {
                    l[i * n + j] = s / root
                    continue
                }
                let limit = max(0, a[i * n + i] - used).squareRoot()
                l[i * n + j] = min(limit, max(-limit, s / root))
            }
        }
        return l
    }

    /// Solves the symmetric positive-definite `a · x = b` (`n`², row-major). By the loops here
    /// also where LAPACK finds `a` not positive definite: they floor each pivot instead of failing.
    static func solve(_ a: [Double], _ b: [Double], size n: Int) -> [Double] {
        if n >= lapackSize, let x = BLAS.choleskySolve(a, b, size: n) { return x }
        let l = factor(a, size: n)
        var z = b
        for i in 0..<n {
            for k in 0..<i { z[i] -= l[i * n + k] * z[k] }
            z[i] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n { z[i] -= l[k * n + i] * z[k] }
            z[i] /= l[i * n + i]
        }
        return z
    }
}

/// A 3×3 matrix by rows.
struct Matrix3 {
    var rows: [SIMD3<Double>]

    init(rows: [SIMD3<Double>]) { self.rows = rows }

    /// The cofactor matrix's rows (for a symmetric matrix, the adjugate's) and the determinant:
    /// the inverse is their ratio, transposed.
    var cofactors: (rows: [SIMD3<Double>], determinant: Double) {
        let (a, b, c) = (rows[0], rows[1], rows[2])
        func cross(_ u: SIMD3<Double>, _ v: SIMD3<Double>) -> SIMD3<Double> {
            SIMD3(u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
        }
        let cofactors = [cross(b, c), cross(c, a), cross(a, b)]
        return (cofactors, a[0] * cofactors[0][0] + a[1] * cofactors[0][1] + a[2] * cofactors[0][2])
    }

    var inverse: Matrix3 {
        let (c, det) = cofactors
        return Matrix3(rows: (0..<3).map { r in SIMD3(c[0][r], c[1][r], c[2][r]) / det })
    }
}
