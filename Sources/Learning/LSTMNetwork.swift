import Foundation

/// Sizes of a stacked-LSTM regressor: `layers` LSTM layers of `units` (all but the last return
/// the full sequence; each is followed by dropout), then Dense(`denseUnits`, linear), then Dense(1).
struct LSTMShape: Sendable, Equatable {
    /// Features per timestep of the first layer's input (1: the scaled price).
    var inputSize: Int
    /// Hidden units of every LSTM layer.
    var units: Int
    /// Number of stacked LSTM layers.
    var layers: Int
    /// Units of the linear hidden dense layer.
    var denseUnits: Int

    /// Width of the gate block: i, f, c (g), o, each `units` wide, in Keras' order.
    var gates: Int { 4 * units }

    /// Input features of LSTM layer `layer`.
    func inputSize(ofLayer layer: Int) -> Int { layer == 0 ? inputSize : units }

    /// Name and shape of every parameter tensor, in storage order (Keras' names and layouts:
    /// kernels are input×output, row-major).
    var tensors: [(name: String, shape: [Int])] {
        var list: [(name: String, shape: [Int])] = []
        for layer in 0..<layers {
            list.append(("lstm\(layer + 1).kernel", [inputSize(ofLayer: layer), gates]))
            list.append(("lstm\(layer + 1).recurrent_kernel", [units, gates]))
            list.append(("lstm\(layer + 1).bias", [gates]))
        }
        list.append(("dense1.kernel", [units, denseUnits]))
        list.append(("dense1.bias", [denseUnits]))
        list.append(("dense2.kernel", [denseUnits, 1]))
        list.append(("dense2.bias", [1]))
        return list
    }
}

/// Offsets of each tensor in the flat parameter (and gradient, and Adam moment) array, so the
/// optimiser and the snapshot treat all weights as one contiguous buffer.
struct LSTMLayout: Sendable, Equatable {
    /// Offsets of one LSTM layer's tensors.
    struct Layer: Sendable, Equatable {
        var kernel: Int
        var recurrentKernel: Int
        var bias: Int
    }

    let shape: LSTMShape
    let lstm: [Layer]
    let denseKernel: Int
    let denseBias: Int
    let outputKernel: Int
    let outputBias: Int
    /// Total number of parameters.
    let count: Int

    init(shape: LSTMShape) {
        self.shape = shape
        var offset = 0
        var layers: [Layer] = []
        for layer in 0..<shape.layers {
            let kernel = offset
            offset += shape.inputSize(ofLayer: layer) * shape.gates
            let recurrent = offset
            offset += shape.units * shape.gates
            let bias = offset
            offset += shape.gates
            layers.append(Layer(kernel: kernel, recurrentKernel: recurrent, bias: bias))
        }
        lstm = layers
        denseKernel = offset
        offset += shape.units * shape.denseUnits
        denseBias = offset
        offset += shape.denseUnits
        outputKernel = offset
        offset += shape.denseUnits
        outputBias = offset
        offset += 1
        count = offset
    }

    /// Keras' initialisation: Glorot-uniform input and dense kernels, orthogonal recurrent
    /// kernels, forget-gate bias 1 (`unit_forget_bias`), all other biases 0.
    func initialParameters<T: LSTMScalar>(seed: UInt64, as: T.Type = T.self) -> [T] {
        var rng = LSTMRandom(seed: seed)
        var p = [T](repeating: 0, count: count)
        func glorot(at offset: Int, fanIn: Int, fanOut: Int) {
            let limit = (6.0 / Double(fanIn + fanOut)).squareRoot()
            for i in 0..<(fanIn * fanOut) {
                p[offset + i] = T((2 * rng.uniform() - 1) * limit)
            }
        }
        let units = shape.units
        let gates = shape.gates
        for (index, layer) in lstm.enumerated() {
            glorot(at: layer.kernel, fanIn: shape.inputSize(ofLayer: index), fanOut: gates)
            let q = LSTMLayout.orthogonal(rows: units, cols: gates, rng: &rng)
            for i in 0..<q.count { p[layer.recurrentKernel + i] = T(q[i]) }
            for j in units..<(2 * units) { p[layer.bias + j] = 1 }
        }
        glorot(at: denseKernel, fanIn: units, fanOut: shape.denseUnits)
        glorot(at: outputKernel, fanIn: shape.denseUnits, fanOut: 1)
        return p
    }

    /// A `rows`×`cols` row-major matrix with orthonormal rows (or columns, whichever are fewer),
    /// as Keras' `Orthogonal`: QR of a Gaussian matrix with R's diagonal made positive, which is
    /// what modified Gram–Schmidt produces directly.
    static func orthogonal(rows: Int, cols: Int, rng: inout LSTMRandom) -> [Double] {
        // Keras draws a (long × short) matrix and orthonormalises its `short` columns.
        let long = max(rows, cols)
        let short = min(rows, cols)
        var a = [Double](repeating: 0, count: long * short)
        for i in 0..<a.count { a[i] = rng.gaussian() }
        // Column j lives at a[i * short + j]; orthonormalise column by column.
        for j in 0..<short {
            for k in 0..<j {
                var dot = 0.0
                for i in 0..<long { dot += a[i * short + k] * a[i * short + j] }
                for i in 0..<long { a[i * short + j] -= dot * a[i * short + k] }
            }
            var norm = 0.0
            for i in 0..<long { norm += a[i * short + j] * a[i * short + j] }
            norm = norm.squareRoot()
            for i in 0..<long { a[i * short + j] /= norm }
        }
        if rows >= cols { return a }
        // rows < cols: the result is the transpose (short × long).
        var t = [Double](repeating: 0, count: rows * cols)
        for i in 0..<long {
            for j in 0..<short { t[j * long + i] = a[i * short + j] }
        }
        return t
    }
}

/// Preallocated buffers for one forward/backward pass over up to `capacity` sequences of
/// `steps` timesteps. Everything is time-major (`[t][sequence][feature]`) so that the inputs
/// of one timestep, and the stacked inputs of all timesteps, are contiguous gemm operands.
///
/// Not thread-safe; one per training run or forecast.
final class LSTMWorkspace<T: LSTMScalar> {
    let layout: LSTMLayout
    let steps: Int
    let capacity: Int
    let canTrain: Bool

    /// Input of the first layer, `steps × capacity × inputSize`; fill it before `forward`.
    let input: UnsafeMutablePointer<T>
    /// Network output, one per sequence, after `forward`.
    let output: UnsafeMutablePointer<T>
    /// Dropout masks (0 or 1/(1−rate)) applied to each LSTM layer's output: the full
    /// sequence for inner layers, the last step for the last layer.
    let masks: [UnsafeMutablePointer<T>]

    // Forward state, per LSTM layer.
    private let gates: [UnsafeMutablePointer<T>]        // steps × cap × 4H: activated i, f, g, o
    private let cells: [UnsafeMutablePointer<T>]        // steps × cap × H
    private let cellTanh: [UnsafeMutablePointer<T>]     // steps × cap × H
    private let hidden: [UnsafeMutablePointer<T>]       // (steps + 1) × cap × H, block 0 = h₋₁ = 0
    private let dropped: [UnsafeMutablePointer<T>]      // layer output after dropout (inner: steps × cap × H, last: cap × H)
    private let denseOut: UnsafeMutablePointer<T>      // cap × D

    // Backward scratch.
    private let dGates: UnsafeMutablePointer<T>        // steps × cap × 4H
    private let dHidden: UnsafeMutablePointer<T>       // cap × H
    private let dCell: UnsafeMutablePointer<T>         // cap × H
    private let dExternal: UnsafeMutablePointer<T>     // steps × cap × H: gradient arriving from the layer above
    private let dDense: UnsafeMutablePointer<T>        // cap × D
    private let dOutput: UnsafeMutablePointer<T>       // cap

    private var allocations: [(UnsafeMutablePointer<T>, Int)] = []
    private var dropoutActive = false

    init(layout: LSTMLayout, steps: Int, capacity: Int, training: Bool) {
        self.layout = layout
        self.steps = steps
        self.capacity = capacity
        self.canTrain = training
        let shape = layout.shape
        let h = shape.units
        var allocations: [(UnsafeMutablePointer<T>, Int)] = []
        func buffer(_ count: Int) -> UnsafeMutablePointer<T> {
            let n = max(count, 1)
            let p = UnsafeMutablePointer<T>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            allocations.append((p, n))
            return p
        }
        let seq = steps * capacity
        input = buffer(seq * shape.inputSize)
        output = buffer(capacity)
        gates = (0..<shape.layers).map { _ in buffer(seq * shape.gates) }
        cells = (0..<shape.layers).map { _ in buffer(seq * h) }
        cellTanh = (0..<shape.layers).map { _ in buffer(seq * h) }
        hidden = (0..<shape.layers).map { _ in buffer((steps + 1) * capacity * h) }
        let outputSizes = (0..<shape.layers).map { $0 == shape.layers - 1 ? capacity * h : seq * h }
        masks = outputSizes.map { training ? buffer($0) : buffer(0) }
        dropped = outputSizes.map { training ? buffer($0) : buffer(0) }
        denseOut = buffer(capacity * shape.denseUnits)
        dGates = training ? buffer(seq * shape.gates) : buffer(0)
        dHidden = training ? buffer(capacity * h) : buffer(0)
        dCell = training ? buffer(capacity * h) : buffer(0)
        dExternal = training ? buffer(seq * h) : buffer(0)
        dDense = training ? buffer(capacity * shape.denseUnits) : buffer(0)
        dOutput = training ? buffer(capacity) : buffer(0)
        self.allocations = allocations
    }

    deinit {
        for (p, n) in allocations {
            p.deinitialize(count: n)
            p.deallocate()
        }
    }

    /// Number of mask entries for layer `layer` with `batch` sequences.
    func maskCount(layer: Int, batch: Int) -> Int {
        let h = layout.shape.units
        return layer == layout.shape.layers - 1 ? batch * h : steps * batch * h
    }

    /// Draws fresh inverted-dropout masks (as Keras' `Dropout` layers, independently for every
    /// element and timestep) for the next `forward(batch:dropout: true)`.
    func sampleMasks(rate: Double, batch: Int, rng: inout LSTMRandom) {
        precondition(canTrain, "dropout masks need a training workspace")
        let keep = T(1 / (1 - rate))
        for layer in 0..<layout.shape.layers {
            let m = masks[layer]
            for i in 0..<maskCount(layer: layer, batch: batch) {
                m[i] = rng.uniform() < rate ? 0 : keep
            }
        }
    }

    /// Runs the network on the first `batch` sequences of `input`; the predictions land in
    /// `output`. With `dropout`, the current `masks` are applied (training only).
    func forward(parameters p: UnsafePointer<T>, batch b: Int, dropout: Bool) {
        precondition(b >= 1 && b <= capacity, "batch \(b) outside workspace capacity \(capacity)")
        precondition(!dropout || canTrain, "dropout needs a training workspace")
        dropoutActive = dropout
        let shape = layout.shape
        let h = shape.units
        let g = shape.gates
        let rows = steps * b
        var layerInput = UnsafePointer(input)
        for layer in 0..<shape.layers {
            let offsets = layout.lstm[layer]
            let d = shape.inputSize(ofLayer: layer)
            let z = gates[layer]
            let c = cells[layer]
            let tc = cellTanh[layer]
            let hs = hidden[layer]
            let bias = p + offsets.bias
            // h₋₁ = 0. Block 0's extent depends on the batch size, so an earlier, smaller
            // batch may have left its h₀ there; backward's dU gemm reads this block.
            hs.update(repeating: 0, count: b * h)
            // Input projections of all timesteps at once: (steps·b × d) · (d × 4H).
            T.gemm(transposeA: false, transposeB: false, m: rows, n: g, k: d,
                   alpha: 1, a: layerInput, lda: d, b: p + offsets.kernel, ldb: g,
                   beta: 0, c: z, ldc: g)
            for t in 0..<steps {
                let zt = z + t * b * g
                let hPrev = hs + t * b * h
                if t > 0 {
                    T.gemm(transposeA: false, transposeB: false, m: b, n: g, k: h,
                           alpha: 1, a: hPrev, lda: h, b: p + offsets.recurrentKernel, ldb: g,
                           beta: 1, c: zt, ldc: g)
                }
                let ct = c + t * b * h
                let cPrev = c + max(t - 1, 0) * b * h  // read only when t > 0
                let tct = tc + t * b * h
                let ht = hs + (t + 1) * b * h
                for r in 0..<b {
                    let zr = zt + r * g
                    for j in 0..<g { zr[j] += bias[j] }
                    // Gate blocks i, f | g | o: sigmoid, tanh, sigmoid, each a vectorised pass.
                    T.sigmoidInPlace(zr, count: 2 * h)
                    T.tanhInPlace(zr + 2 * h, count: h)
                    T.sigmoidInPlace(zr + 3 * h, count: h)
                    let zi = UnsafePointer(zr), zf = zi + h, zg = zi + 2 * h, zo = zi + 3 * h
                    let cr = ct + r * h
                    let tcr = tct + r * h
                    if t > 0 {
                        let cp = UnsafePointer(cPrev + r * h)
                        for j in 0..<h { cr[j] = zf[j] * cp[j] + zi[j] * zg[j] }
                    } else {
                        for j in 0..<h { cr[j] = zi[j] * zg[j] }
                    }
                    tcr.update(from: cr, count: h)
                    T.tanhInPlace(tcr, count: h)
                    let hr = ht + r * h
                    for j in 0..<h { hr[j] = zo[j] * tcr[j] }
                }
            }
            let isLast = layer == shape.layers - 1
            // Inner layers pass on the whole sequence, the last one only its final step.
            let produced = UnsafePointer(isLast ? hs + steps * b * h : hs + b * h)
            let count = isLast ? b * h : rows * h
            if dropout {
                let m = masks[layer]
                let out = dropped[layer]
                for i in 0..<count { out[i] = produced[i] * m[i] }
                layerInput = UnsafePointer(out)
            } else {
                layerInput = produced
            }
        }
        // Dense(D, linear) then Dense(1).
        let dd = shape.denseUnits
        T.gemm(transposeA: false, transposeB: false, m: b, n: dd, k: h,
               alpha: 1, a: layerInput, lda: h, b: p + layout.denseKernel, ldb: dd,
               beta: 0, c: denseOut, ldc: dd)
        let denseBias = p + layout.denseBias
        for r in 0..<b {
            for j in 0..<dd { denseOut[r * dd + j] += denseBias[j] }
        }
        T.gemm(transposeA: false, transposeB: false, m: b, n: 1, k: dd,
               alpha: 1, a: denseOut, lda: dd, b: p + layout.outputKernel, ldb: 1,
               beta: 0, c: output, ldc: 1)
        let outputBias = p[layout.outputBias]
        for r in 0..<b { output[r] += outputBias }
    }

    /// Backpropagation through time after `forward` on the same batch: writes the gradient of
    /// the MSE loss `(1/b) Σ (output − target)²` into `gradient` (overwriting it) and returns
    /// the loss. The dW and dU of each layer are one gemm each over all timesteps.
    func backward(parameters p: UnsafePointer<T>, targets: UnsafePointer<T>, batch b: Int,
                  gradient grad: UnsafeMutablePointer<T>) -> Double {
        precondition(canTrain, "backward needs a training workspace")
        let shape = layout.shape
        let h = shape.units
        let g = shape.gates
        let dd = shape.denseUnits
        let rows = steps * b
        let dropout = dropoutActive

        var loss = 0.0
        let scale = T(2) / T(b)
        for r in 0..<b {
            let e = output[r] - targets[r]
            loss += Double(e) * Double(e)
            dOutput[r] = scale * e
        }
        loss /= Double(b)

        // Output layer.
        T.gemm(transposeA: true, transposeB: false, m: dd, n: 1, k: b,
               alpha: 1, a: denseOut, lda: dd, b: dOutput, ldb: 1,
               beta: 0, c: grad + layout.outputKernel, ldc: 1)
        var biasSum: T = 0
        for r in 0..<b { biasSum += dOutput[r] }
        grad[layout.outputBias] = biasSum
        T.gemm(transposeA: false, transposeB: true, m: b, n: dd, k: 1,
               alpha: 1, a: dOutput, lda: 1, b: p + layout.outputKernel, ldb: 1,
               beta: 0, c: dDense, ldc: dd)

        // Hidden dense layer; its input is the last LSTM layer's (dropped-out) final state.
        let last = shape.layers - 1
        let denseInput = UnsafePointer(dropout ? dropped[last] : hidden[last] + steps * b * h)
        T.gemm(transposeA: true, transposeB: false, m: h, n: dd, k: b,
               alpha: 1, a: denseInput, lda: h, b: dDense, ldb: dd,
               beta: 0, c: grad + layout.denseKernel, ldc: dd)
        let gDenseBias = grad + layout.denseBias
        for j in 0..<dd { gDenseBias[j] = 0 }
        for r in 0..<b {
            for j in 0..<dd { gDenseBias[j] += dDense[r * dd + j] }
        }
        T.gemm(transposeA: false, transposeB: true, m: b, n: h, k: dd,
               alpha: 1, a: dDense, lda: dd, b: p + layout.denseKernel, ldb: dd,
               beta: 0, c: dHidden, ldc: h)
        if dropout {
            let m = masks[last]
            for i in 0..<(b * h) { dHidden[i] *= m[i] }
        }

        for layer in stride(from: last, through: 0, by: -1) {
            let offsets = layout.lstm[layer]
            let d = shape.inputSize(ofLayer: layer)
            let z = UnsafePointer(gates[layer])
            let c = UnsafePointer(cells[layer])
            let tc = UnsafePointer(cellTanh[layer])
            let hs = UnsafePointer(hidden[layer])
            let isLast = layer == last
            // dHidden holds the gradient w.r.t. h at the last step: from the dense layer for
            // the last LSTM layer, from the layer above for inner layers.
            if !isLast {
                dHidden.update(from: dExternal + (steps - 1) * b * h, count: b * h)
            }
            dCell.update(repeating: 0, count: b * h)
            for t in stride(from: steps - 1, through: 0, by: -1) {
                let zt = z + t * b * g
                let cPrev = c + max(t - 1, 0) * b * h  // read only when t > 0
                let tct = tc + t * b * h
                let dzt = dGates + t * b * g
                for r in 0..<b {
                    let zr = UnsafePointer(zt + r * g)
                    let dzr = dzt + r * g
                    let dhr = UnsafePointer(dHidden + r * h)
                    let dcr = dCell + r * h
                    let tcr = tct + r * h
                    // Split into short loops over per-gate base pointers so that each one
                    // vectorises (index arithmetic like `3 * h + j` carries overflow checks,
                    // and one fused loop had too many possible aliases for the vectoriser).
                    let zi = zr, zf = zr + h, zg = zr + 2 * h, zo = zr + 3 * h
                    let di = dzr, df = dzr + h, dg = dzr + 2 * h, dout = dzr + 3 * h
                    for j in 0..<h {
                        let o = zo[j], squashed = tcr[j], dh = dhr[j]
                        dcr[j] += dh * o * (1 - squashed * squashed)
                        dout[j] = dh * squashed * o * (1 - o)
                    }
                    for j in 0..<h {
                        let i = zi[j], gg = zg[j], dc = dcr[j]
                        di[j] = dc * gg * i * (1 - i)
                        dg[j] = dc * i * (1 - gg * gg)
                    }
                    if t > 0 {
                        let cp = cPrev + r * h
                        for j in 0..<h {
                            let f = zf[j]
                            df[j] = dcr[j] * cp[j] * f * (1 - f)
                        }
                    } else {
                        for j in 0..<h { df[j] = 0 }
                    }
                    for j in 0..<h { dcr[j] *= zf[j] }
                }
                if t > 0 {
                    // dh_{t-1} = dz_t · Uᵀ (+ the gradient from the layer above at t−1).
                    let beta: T
                    if isLast {
                        beta = 0
                    } else {
                        dHidden.update(from: dExternal + (t - 1) * b * h, count: b * h)
                        beta = 1
                    }
                    T.gemm(transposeA: false, transposeB: true, m: b, n: h, k: g,
                           alpha: 1, a: dzt, lda: g, b: p + offsets.recurrentKernel, ldb: g,
                           beta: beta, c: dHidden, ldc: h)
                }
            }
            // dU = Σ_t h_{t−1}ᵀ dz_t: the stacked h_{−1}…h_{T−2} (blocks 0…T−1) times all dz.
            T.gemm(transposeA: true, transposeB: false, m: h, n: g, k: rows,
                   alpha: 1, a: hs, lda: h, b: dGates, ldb: g,
                   beta: 0, c: grad + offsets.recurrentKernel, ldc: g)
            let layerInput: UnsafePointer<T>
            if layer == 0 {
                layerInput = UnsafePointer(input)
            } else {
                layerInput = UnsafePointer(dropout ? dropped[layer - 1] : hidden[layer - 1] + b * h)
            }
            T.gemm(transposeA: true, transposeB: false, m: d, n: g, k: rows,
                   alpha: 1, a: layerInput, lda: d, b: dGates, ldb: g,
                   beta: 0, c: grad + offsets.kernel, ldc: g)
            let gBias = grad + offsets.bias
            for j in 0..<g { gBias[j] = 0 }
            for r in 0..<rows {
                let dzr = dGates + r * g
                for j in 0..<g { gBias[j] += dzr[j] }
            }
            if layer > 0 {
                // Gradient w.r.t. the layer's input sequence, then back through the dropout.
                T.gemm(transposeA: false, transposeB: true, m: rows, n: d, k: g,
                       alpha: 1, a: dGates, lda: g, b: p + offsets.kernel, ldb: g,
                       beta: 0, c: dExternal, ldc: d)
                if dropout {
                    let m = masks[layer - 1]
                    for i in 0..<(rows * h) { dExternal[i] *= m[i] }
                }
            }
        }
        return loss
    }
}

/// Adam with Keras' update rule and defaults (β₁ 0.9, β₂ 0.999, ε 1e-7):
/// `m += (g − m)(1 − β₁)`, `v += (g² − v)(1 − β₂)`,
/// `w −= lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)`.
struct LSTMAdam<T: LSTMScalar> {
    let learningRate: Double
    let beta1 = 0.9
    let beta2 = 0.999
    let epsilon = 1e-7
    private(set) var step = 0
    private var m: [T]
    private var v: [T]

    init(count: Int, learningRate: Double) {
        self.learningRate = learningRate
        m = [T](repeating: 0, count: count)
        v = [T](repeating: 0, count: count)
    }

    /// One update of `parameters` with `gradient`.
    mutating func update(parameters: UnsafeMutablePointer<T>, gradient: UnsafePointer<T>) {
        step += 1
        let t = Double(step)
        let alpha = T(learningRate * (1 - Foundation.pow(beta2, t)).squareRoot() / (1 - Foundation.pow(beta1, t)))
        let oneMinusBeta1 = T(1 - beta1)
        let oneMinusBeta2 = T(1 - beta2)
        let eps = T(epsilon)
        let n = m.count
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                for i in 0..<n {
                    let g = gradient[i]
                    m[i] += (g - m[i]) * oneMinusBeta1
                    v[i] += (g * g - v[i]) * oneMinusBeta2
                    parameters[i] -= alpha * m[i] / (v[i].squareRoot() + eps)
                }
            }
        }
    }
}
