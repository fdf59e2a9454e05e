import Foundation
import Backends
import Support
import XCTest
@testable import Training

/// The AdamW thread's choice of the next job: of the landed ones, the one the next forward
/// needs first.
final class LayerOptimizerOrderTests: XCTestCase {
    /// An event whose completion the test sets.
    final class SetEvent: DeviceEvent {
        var isComplete: Bool
        init(_ complete: Bool) { isComplete = complete }
        func record(on queue: any DeviceQueue) {}
        func synchronize() {}
        func milliseconds(since start: any DeviceEvent) -> Double { 0 }
    }

    private let gradients = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    deinit { gradients.deallocate() }

    private func job(_ unit: Int, landed: Bool) -> LayerOptimizerWorker.Job {
        .init(layer: unit, landed: SetEvent(landed), gradients: .f32(gradients), learningRate: 1e-3, gradScale: 1)
    }

    // Units: 0–3 layers (ranks 1–4), 4 the embedding (rank 0), 5 the LM head (rank 5).
    private let ranks = [1, 2, 3, 4, 0, 5]

    func testTheHeadWaitsBehindLandedLayers() {
        // Backward order: the head's gradient first, then layers 3, 2.
        let pending = [job(5, landed: true), job(3, landed: true), job(2, landed: true)]
        XCTAssertEqual(LayerOptimizerWorker.next(pending, ranks: ranks), 2, "layer 2 is needed first of the landed")
    }

    func testOnlyLandedJobsCompete() {
        // Layer 0 is needed sooner but has not landed: layer 3 (landed) runs rather than waiting.
        let pending = [job(5, landed: true), job(3, landed: true), job(0, landed: false)]
        XCTAssertEqual(LayerOptimizerWorker.next(pending, ranks: ranks), 1)
    }

    func testTheEmbeddingGoesFirstOnceLanded() {
        let pending = [job(5, landed: true), job(1, landed: true), job(0, landed: true), job(4, landed: true)]
        XCTAssertEqual(LayerOptimizerWorker.next(pending, ranks: ranks), 3)
    }

    func testNoneLandedWaitsForTheOldest() {
        let pending = [job(5, landed: false), job(3, landed: false)]
        XCTAssertEqual(LayerOptimizerWorker.next(pending, ranks: ranks), 0)
    }

    func testTiesKeepSubmissionOrder() {
        let pending = [job(2, landed: true), job(2, landed: true)]
        XCTAssertEqual(LayerOptimizerWorker.next(pending, ranks: ranks), 0)
    }

    /// A job held back by the gather (`hold`) does not run; once released it runs after every
    /// other landed job, whatever its rank; with only held jobs there is nothing to run.
    func testHeldJobsWaitAndReleasedOnesGoLast() {
        let pending = [job(4, landed: true), job(1, landed: true), job(5, landed: true)]
        XCTAssertEqual(LayerOptimizerWorker.next(pending, ranks: ranks), 0, "the embedding first")
        XCTAssertEqual(LayerOptimizerWorker.next(pending, ranks: ranks, held: [4]), 1)
        XCTAssertEqual(LayerOptimizerWorker.next(pending, ranks: ranks, demoted: [4]), 1)
        XCTAssertEqual(LayerOptimizerWorker.next(Array(pending[0..<1]), ranks: ranks, demoted: [4]), 0)
        XCTAssertEqual(LayerOptimizerWorker.next([job(4, landed: true), job(5, landed: true)], ranks: ranks,
                                                 demoted: [4]), 1, "below even the head")
        XCTAssertNil(LayerOptimizerWorker.next([job(4, landed: true)], ranks: ranks, held: [4]))
        XCTAssertEqual(LayerOptimizerWorker.next([job(4, landed: false), job(5, landed: false)], ranks: ranks, held: [4]), 1,
                       "the oldest of those not held")
    }

    /// An event that completes when the test opens it; `synchronize` blocks until then and
    /// notes that someone waited.
    final class GateEvent: DeviceEvent, @unchecked Sendable {
        private let condition = NSCondition()
        private var open = false, waiting = false
        var isComplete: Bool { condition.lock(); defer { condition.unlock() }; return open }
        var someoneWaits: Bool { condition.lock(); defer { condition.unlock() }; return waiting }
        func record(on queue: any DeviceQueue) {}
        func synchronize() {
            condition.lock()
            waiting = true
            while !open { condition.wait() }
            condition.unlock()
        }
        func milliseconds(since start: any DeviceEvent) -> Double { 0 }
        func openGate() { condition.lock(); open = true; condition.broadcast(); condition.unlock() }
    }

    /// The worker itself: unit 1's job holds the thread (its gradient not landed), unit 0's job
    /// is held by `hold` meanwhile; when unit 1's lands and runs, unit 0's still waits; released,
    /// it runs, with the same result as an update never held. `hold` of an update that has run
    /// returns nil.
    func testHoldAndRelease() {
        let (buffers, layers, grad) = Self.units(2, elements: 64)
        defer { buffers.forEach { $0.deallocate() }; grad.deallocate() }
        let worker = LayerOptimizerWorker(optimizer: AdamW(AdamWHyperparameters()), layers: layers, ranks: [0, 1],
                                          pool: WorkerPool(threads: 1))
        defer { worker.shutdown() }
        let gate = GateEvent()
        worker.submit(.init(layer: 1, landed: gate, gradients: .f32(grad), learningRate: 1e-3, gradScale: 1))
        while !gate.someoneWaits { usleep(100) }
        worker.submit(.init(layer: 0, landed: SetEvent(true), gradients: .f32(grad), learningRate: 1e-3, gradScale: 1))
        let h = worker.hold(units: [0], count: 1)
        XCTAssertFalse(h.waited)
        XCTAssertEqual(h.held.first??.job.layer, 0)
        XCTAssertEqual(h.held.first??.step, 1)
        gate.openGate()
        worker.waitForUpdate(layer: 1, count: 1)
        usleep(10_000)
        XCTAssertFalse(worker.hasUpdate(layer: 0, count: 1), "held back")
        worker.release(layer: 0)
        worker.waitForUpdate(layer: 0, count: 1)
        XCTAssertNil(worker.hold(units: [0], count: 1).held.first ?? nil, "the update has run")
        XCTAssertEqual(buffers[0][0], buffers[1][0], "the same update for both units")
        XCTAssertNotEqual(buffers[0][0], 0.5)
    }

    /// Units held together stay held until released, then run in submission order: the later
    /// unit's update having run means the earlier one's has (the engine frees landing buffers
    /// shared by the embedding's parts on the last part's update).
    func testHeldUnitsRunInSubmissionOrder() {
        let (buffers, layers, grad) = Self.units(3, elements: 16)
        defer { buffers.forEach { $0.deallocate() }; grad.deallocate() }
        // Units 0 and 1 share the lowest rank (as the embedding's parts do); unit 2 holds the thread.
        let worker = LayerOptimizerWorker(optimizer: AdamW(AdamWHyperparameters()), layers: layers, ranks: [0, 0, 1],
                                          pool: WorkerPool(threads: 1))
        defer { worker.shutdown() }
        let gate = GateEvent()
        worker.submit(.init(layer: 2, landed: gate, gradients: .f32(grad), learningRate: 1e-3, gradScale: 1))
        while !gate.someoneWaits { usleep(100) }
        for unit in [0, 1] {
            worker.submit(.init(layer: unit, landed: SetEvent(true), gradients: .f32(grad), learningRate: 1e-3, gradScale: 1))
        }
        let h = worker.hold(units: [0, 1], count: 1)
        XCTAssertEqual(h.held.map { $0?.job.layer }, [0, 1])
        gate.openGate()
        worker.waitForUpdate(layer: 2, count: 1)
        usleep(10_000)
        XCTAssertFalse(worker.hasUpdate(layer: 0, count: 1) || worker.hasUpdate(layer: 1, count: 1), "held back")
        worker.release(layer: 0)
        worker.release(layer: 1)
        worker.waitForUpdate(layer: 1, count: 1)
        XCTAssertTrue(worker.hasUpdate(layer: 0, count: 1), "unit 0 ran before unit 1")
        let spans = (0..<2).compactMap { worker.updateSpan(layer: $0, count: 1) }
        XCTAssertEqual(spans.count, 2)
        if spans.count == 2 { XCTAssertLessThanOrEqual(spans[0].end, spans[1].start) }
    }

    /// An update in pieces: once `waitForUpdate(elements:)` returns, those elements hold their
    /// final values (what one whole update writes, bit for bit), and the whole update follows.
    func testPiecesOfAnUpdateAreFinalWhenWaitedFor() {
        let chunk = OptimizerSegments.chunkElements, n = 5 * chunk + 100
        let segments = OptimizerSegments([DecaySegment(0..<(3 * chunk), decays: true),
                                          DecaySegment((3 * chunk)..<n, decays: false)])
        func state() -> UnsafeMutablePointer<Float> {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: 3 * n)
            for i in 0..<(3 * n) { b[i] = Float(i % 97) * 0.01 + 0.5 }
            return b
        }
        let grad = UnsafeMutablePointer<Float>.allocate(capacity: n)
        for i in 0..<n { grad[i] = Float(i % 13) * 0.1 - 0.6 }
        let (pieced, whole) = (state(), state())
        defer { grad.deallocate(); pieced.deallocate(); whole.deallocate() }
        let optimizer = AdamW(AdamWHyperparameters(weightDecay: 0.1))
        var seen: [Int] = []
        optimizer.update(params: whole, gradients: .f32(grad), m: whole + n, v: whole + 2 * n, segments: segments, step: 1,
                         learningRate: 1e-3, gradScale: 1, bf16Output: nil, pool: WorkerPool(threads: 2),
                         pieceElements: 2 * chunk) { seen.append($0) }
        XCTAssertEqual(seen, [2 * chunk, 4 * chunk, n], "progress after each piece of 2 chunks")
        let worker = LayerOptimizerWorker(optimizer: optimizer, layers: [
            .init(masters: pieced, m: pieced + n, v: pieced + 2 * n, moments: AdamWMoments(count: n), segments: segments,
                  count: n),
        ], ranks: [0], pool: WorkerPool(threads: 2), pieceElements: chunk)
        defer { worker.shutdown() }
        worker.submit(.init(layer: 0, landed: SetEvent(true), gradients: .f32(grad), learningRate: 1e-3, gradScale: 1))
        for elements in [chunk, 3 * chunk] {
            worker.waitForUpdate(layer: 0, count: 1, elements: elements)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: pieced, count: elements)),
                           Array(UnsafeBufferPointer(start: whole, count: elements)), "\(elements) elements final")
        }
        worker.waitForUpdate(layer: 0, count: 1)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: pieced, count: 3 * n)), Array(UnsafeBufferPointer(start: whole, count: 3 * n)))
    }

    /// `count` units of `n` elements (masters, m, v all 0.5) and a gradient of ones.
    private static func units(_ count: Int, elements n: Int)
        -> ([UnsafeMutablePointer<Float>], [LayerOptimizerWorker.Layer], UnsafeMutablePointer<Float>) {
        let buffers = (0..<count).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: 3 * n) }
        let layers = buffers.map { b -> LayerOptimizerWorker.Layer in
            b.initialize(repeating: 0.5, count: 3 * n)
            return .init(masters: b, m: b + n, v: b + 2 * n, moments: AdamWMoments(count: n),
                         segments: OptimizerSegments([DecaySegment(0..<n, decays: true)]), count: n)
        }
        let grad = UnsafeMutablePointer<Float>.allocate(capacity: n)
        grad.initialize(repeating: 1, count: n)
        return (buffers, layers, grad)
    }
}
