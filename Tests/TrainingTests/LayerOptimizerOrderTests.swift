import Backends
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
}
