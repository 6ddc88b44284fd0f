/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator. The demo market seeds its
/// Xoshiro streams with it and the LSTM draws its weights, shuffles and dropout masks from it, so one seed
/// gives the same results on every run.
public struct SplitMix64: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
