import CBLAS
import Foundation
import MarketData

/// A floating-point type the LSTM can run in: `Float` trains through `cblas_sgemm`,
/// `Double` (used by the gradient check) through `cblas_dgemm`.
protocol LSTMScalar: BinaryFloatingPoint, Sendable {
    /// Row-major `C = alpha * op(A) * op(B) + beta * C` with `op(A)` m×k and `op(B)` k×n.
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Self, a: UnsafePointer<Self>, lda: Int,
                     b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Replaces each of the `count` values at `x` by its logistic sigmoid.
    static func sigmoidInPlace(_ x: UnsafeMutablePointer<Self>, count: Int)
    /// Replaces each of the `count` values at `x` by its hyperbolic tangent.
    static func tanhInPlace(_ x: UnsafeMutablePointer<Self>, count: Int)
}

@inline(__always)
private func cblasTranspose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Float: LSTMScalar {
    @inline(__always)
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// `e^x` for |x| ≤ 87 within ~2 ulp, branch-free so that loops over it vectorise: glibc's
    /// `expf`/`tanhf` are scalar calls and took over half of a training epoch.
    /// Range reduction x = n·ln2 + r (Cody–Waite, |r| ≤ ln2/2), then a polynomial for e^r,
    /// scaled by 2^n built in the exponent bits.
    @inline(__always)
    static func fastExp(_ x: Float) -> Float {
        let clamped = Swift.min(Swift.max(x, -87), 87)
        // Adding and removing 1.5·2²³ rounds to the nearest integer without a libm call
        // (`rounded()` becomes `rintf` on baseline x86-64, which blocks vectorisation).
        // The sum's low mantissa bits are then n itself, which builds 2^n without a checked
        // Float→Int conversion (its overflow trap would also block vectorisation).
        let magic: Float = 12_582_912
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        let r = (clamped - n * 0.693_359_375) + n * 2.121_944_4e-4
        // Cephes' minimax polynomial for e^r on |r| ≤ ln2/2 (about 1 ulp).
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * (r * r) + r + 1
        let exponent = (shifted.bitPattern &- magic.bitPattern &+ 127) & 0xFF
        let scale = Float(bitPattern: exponent &<< 23)
        return p * scale
    }

    static func sigmoidInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for k in 0..<count { x[k] = 1 / (1 + fastExp(-x[k])) }
    }

    static func tanhInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        // tanh(x) = 1 − 2/(e^{2x} + 1): absolute error ~1e-7, below Float32 training noise.
        for k in 0..<count { x[k] = 1 - 2 / (fastExp(2 * x[k]) + 1) }
    }
}

extension Double: LSTMScalar {
    @inline(__always)
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Double, a: UnsafePointer<Double>, lda: Int,
                     b: UnsafePointer<Double>, ldb: Int,
                     beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    static func sigmoidInPlace(_ x: UnsafeMutablePointer<Double>, count: Int) {
        // The two-sided form keeps full relative accuracy (the gradient check relies on it).
        for k in 0..<count {
            let v = x[k]
            if v >= 0 {
                x[k] = 1 / (1 + Foundation.exp(-v))
            } else {
                let e = Foundation.exp(v)
                x[k] = e / (1 + e)
            }
        }
    }

    static func tanhInPlace(_ x: UnsafeMutablePointer<Double>, count: Int) {
        for k in 0..<count { x[k] = Foundation.tanh(x[k]) }
    }
}

/// OpenBLAS runs single-threaded for the LSTM: a threaded gemm may split sums differently
/// from run to run, which would break "same seed, bit-identical weights". The calls are
/// small (32×50 by 50×200), so threads would gain little anyway.
enum LSTMBLAS {
    /// Sets OpenBLAS to one thread (idempotent; affects the whole process).
    static func useSingleThread() {
        openblas_set_num_threads(1)
    }
}

/// The LSTM's random draws on a SplitMix64 stream, so that the same seed gives the same weights,
/// shuffles and dropout masks on every run.
struct LSTMRandom: Sendable {
    private var bits: SplitMix64

    /// Starts the stream at `seed`.
    init(seed: UInt64) { bits = SplitMix64(seed: seed) }

    /// The next 64 random bits.
    @inline(__always)
    mutating func next() -> UInt64 { bits.next() }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform integer in `0..<bound` (Lemire's multiply-shift; the tiny bias is irrelevant here).
    @inline(__always)
    mutating func below(_ bound: Int) -> Int {
        Int(UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    /// Standard normal via Box–Muller (one of the pair is used; simplicity over speed,
    /// this only runs at initialisation).
    mutating func gaussian() -> Double {
        let u1 = max(uniform(), 0x1.0p-60)
        let u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Shuffles `values` in place (Fisher–Yates).
    mutating func shuffle(_ values: inout [Int]) {
        var i = values.count - 1
        while i > 0 {
            let j = below(i + 1)
            values.swapAt(i, j)
            i -= 1
        }
    }
}
