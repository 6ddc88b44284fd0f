import Foundation
import Testing
@testable import Learning

/// A tiny Double-precision network with random inputs, targets and non-zero biases, for
/// checking backpropagation through time against central finite differences.
private struct TinyNetwork {
    let layout = LSTMLayout(shape: LSTMShape(inputSize: 1, units: 3, layers: 2, denseUnits: 2))
    let steps = 5
    let batch = 4
    var parameters: [Double]
    var inputs: [Double]
    var targets: [Double]
    let workspace: LSTMWorkspace<Double>

    init(seed: UInt64) {
        parameters = layout.initialParameters(seed: seed)
        var rng = LSTMRandom(seed: seed &+ 1)
        // Non-zero biases so that every bias gradient path is exercised with generic values.
        for i in 0..<parameters.count { parameters[i] += 0.3 * (rng.uniform() - 0.5) }
        inputs = (0..<(steps * batch)).map { _ in rng.uniform() }
        targets = (0..<batch).map { _ in rng.uniform() }
        workspace = LSTMWorkspace<Double>(layout: layout, steps: steps, capacity: batch, training: true)
    }

    /// Fixed inverted-dropout masks with rate 0.5 (entries 0 or 2).
    func setFixedMasks(seed: UInt64) {
        var rng = LSTMRandom(seed: seed)
        for layer in 0..<layout.shape.layers {
            for i in 0..<workspace.maskCount(layer: layer, batch: batch) {
                workspace.masks[layer][i] = rng.uniform() < 0.5 ? 0 : 2
            }
        }
    }

    func loss(_ p: [Double], dropout: Bool) -> Double {
        for i in 0..<inputs.count { workspace.input[i] = inputs[i] }
        p.withUnsafeBufferPointer { workspace.forward(parameters: $0.baseAddress!, batch: batch, dropout: dropout) }
        var sum = 0.0
        for r in 0..<batch {
            let e = workspace.output[r] - targets[r]
            sum += e * e
        }
        return sum / Double(batch)
    }

    func analyticGradient(dropout: Bool) -> (loss: Double, gradient: [Double]) {
        _ = loss(parameters, dropout: dropout)
        var gradient = [Double](repeating: .nan, count: parameters.count)
        let value = parameters.withUnsafeBufferPointer { p in
            targets.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { g in
                    workspace.backward(parameters: p.baseAddress!, targets: y.baseAddress!, batch: batch,
                                       gradient: g.baseAddress!)
                }
            }
        }
        return (value, gradient)
    }

    /// Largest relative error |a − n| / max(|a| + |n|, 1e-8) over all parameters, n numeric.
    func worstRelativeError(dropout: Bool) -> (maxError: Double, index: Int, analytic: [Double]) {
        let (_, analytic) = analyticGradient(dropout: dropout)
        var p = parameters
        // Central differences at h and h/2 combined by Richardson extrapolation: the O(h²)
        // truncation cancels, so h can be large enough that rounding in the loss stays far
        // below the (often ~1e-5) gradients of this tiny network.
        func central(_ i: Int, _ h: Double) -> Double {
            let original = p[i]
            p[i] = original + h
            let up = loss(p, dropout: dropout)
            p[i] = original - h
            let down = loss(p, dropout: dropout)
            p[i] = original
            return (up - down) / (2 * h)
        }
        var worst = (error: 0.0, index: -1)
        for i in 0..<p.count {
            let h = 1e-3
            let numeric = (4 * central(i, h / 2) - central(i, h)) / 3
            let error = abs(analytic[i] - numeric) / max(abs(analytic[i]) + abs(numeric), 1e-8)
            if error > worst.error { worst = (error, i) }
        }
        return (worst.error, worst.index, analytic)
    }
}

@Suite("LSTM backpropagation")
struct LSTMGradientTests {
    @Test("BPTT matches finite differences on every parameter (units 3, seq 5, batch 4, dense 2)")
    func gradientWithoutDropout() {
        let net = TinyNetwork(seed: 11)
        let check = net.worstRelativeError(dropout: false)
        #expect(check.maxError < 1e-6, "worst relative error \(check.maxError) at parameter \(check.index)")
        // Every parameter takes part: no gradient entry is left unwritten or identically zero.
        #expect(check.analytic.allSatisfy { $0.isFinite && $0 != 0 })
    }

    @Test("BPTT matches finite differences with fixed dropout masks")
    func gradientWithDropout() {
        let net = TinyNetwork(seed: 23)
        net.setFixedMasks(seed: 5)
        let check = net.worstRelativeError(dropout: true)
        #expect(check.maxError < 1e-6, "worst relative error \(check.maxError) at parameter \(check.index)")
        #expect(check.analytic.allSatisfy { $0.isFinite })
        // The masks change the gradient: it differs from the no-dropout one.
        let plain = net.analyticGradient(dropout: false).gradient
        #expect(plain != check.analytic)
    }

    @Test("backward returns the same loss as the forward pass")
    func backwardLossMatchesForward() {
        let net = TinyNetwork(seed: 3)
        let forward = net.loss(net.parameters, dropout: false)
        let (backward, _) = net.analyticGradient(dropout: false)
        #expect(abs(forward - backward) <= 1e-15 * max(1, forward))
    }

    @Test("a workspace that ran a smaller batch before gives the same gradient as a fresh one")
    func reusedWorkspaceGradient() {
        let net = TinyNetwork(seed: 17)
        let (_, fresh) = net.analyticGradient(dropout: false)
        // A one-sequence pass writes its state at offsets that belong to other blocks for a batch of 4.
        for t in 0..<net.steps { net.workspace.input[t] = Double(t) + 1 }
        net.parameters.withUnsafeBufferPointer {
            net.workspace.forward(parameters: $0.baseAddress!, batch: 1, dropout: false)
        }
        let (_, reused) = net.analyticGradient(dropout: false)
        #expect(reused == fresh)
    }

    @Test("a batch smaller than the workspace gives the same outputs as running each sequence alone")
    func partialBatchMatchesSingleSequences() {
        let net = TinyNetwork(seed: 9)
        _ = net.loss(net.parameters, dropout: false)
        let batched = (0..<net.batch).map { net.workspace.output[$0] }
        let single = LSTMWorkspace<Double>(layout: net.layout, steps: net.steps, capacity: 1, training: false)
        for r in 0..<net.batch {
            for t in 0..<net.steps { single.input[t] = net.inputs[t * net.batch + r] }
            net.parameters.withUnsafeBufferPointer {
                single.forward(parameters: $0.baseAddress!, batch: 1, dropout: false)
            }
            #expect(abs(single.output[0] - batched[r]) < 1e-12)
        }
    }
}

@Suite("LSTM initialisation and layout")
struct LSTMInitialisationTests {
    @Test("the layout's tensors tile the parameter array with Keras' shapes")
    func layoutShapes() {
        let shape = LSTMShape(inputSize: 1, units: 50, layers: 2, denseUnits: 25)
        let layout = LSTMLayout(shape: shape)
        let tensors = shape.tensors
        #expect(tensors.map(\.name) == ["lstm1.kernel", "lstm1.recurrent_kernel", "lstm1.bias",
                                        "lstm2.kernel", "lstm2.recurrent_kernel", "lstm2.bias",
                                        "dense1.kernel", "dense1.bias", "dense2.kernel", "dense2.bias"])
        #expect(tensors.map(\.shape) == [[1, 200], [50, 200], [200], [50, 200], [50, 200], [200],
                                         [50, 25], [25], [25, 1], [1]])
        #expect(layout.count == tensors.reduce(0) { $0 + $1.shape.reduce(1, *) })
        #expect(layout.count == 31_901)  // Keras' model.summary() for this network
        #expect(layout.lstm[1].kernel == 200 + 10_000 + 200)
        #expect(layout.outputBias == layout.count - 1)
    }

    @Test("recurrent kernels have orthonormal rows, forget biases are 1, kernels within Glorot limits")
    func kerasInitialisation() {
        let shape = LSTMShape(inputSize: 1, units: 6, layers: 2, denseUnits: 4)
        let layout = LSTMLayout(shape: shape)
        let p: [Double] = layout.initialParameters(seed: 42)
        let h = shape.units, g = shape.gates
        for layer in layout.lstm {
            let u = Array(p[layer.recurrentKernel..<(layer.recurrentKernel + h * g)])
            for a in 0..<h {
                for b in 0..<h {
                    var dot = 0.0
                    for k in 0..<g { dot += u[a * g + k] * u[b * g + k] }
                    #expect(abs(dot - (a == b ? 1 : 0)) < 1e-12)
                }
            }
            let bias = Array(p[layer.bias..<(layer.bias + g)])
            #expect(bias == (0..<g).map { (h..<(2 * h)).contains($0) ? 1.0 : 0.0 })
        }
        let limit = (6.0 / Double(1 + g)).squareRoot()
        let kernel = p[layout.lstm[0].kernel..<(layout.lstm[0].kernel + g)]
        #expect(kernel.allSatisfy { abs($0) <= limit })
        #expect(Set(kernel).count == g)
        let denseLimit = (6.0 / Double(h + shape.denseUnits)).squareRoot()
        #expect(p[layout.denseKernel..<layout.denseBias].allSatisfy { abs($0) <= denseLimit })
        #expect(p[layout.denseBias..<layout.outputKernel].allSatisfy { $0 == 0 })
        #expect(p[layout.outputBias] == 0)
    }

    @Test("initialisation is a function of the seed")
    func seededInitialisation() {
        let layout = LSTMLayout(shape: LSTMShape(inputSize: 1, units: 4, layers: 2, denseUnits: 3))
        let a: [Float] = layout.initialParameters(seed: 1)
        let b: [Float] = layout.initialParameters(seed: 1)
        let c: [Float] = layout.initialParameters(seed: 2)
        #expect(a == b)
        #expect(a != c)
    }
}
