@testable import Datasets
import Support
import XCTest

final class SeededShuffleTests: XCTestCase {
    /// Reference outputs of SplitMix64 seeded with 1234567 (Vigna's splitmix64.c; the same
    /// values are used as test vectors by Rust's rand_xoshiro).
    func testSplitMix64MatchesReferenceOutputs() {
        var rng = SplitMix64(seed: 1_234_567)
        XCTAssertEqual((0..<5).map { _ in rng.next() }, [
            6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
            4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
        ])
    }

    func testShuffledOrderIsAPermutation() {
        let order = shuffledOrder(count: 1000, seed: 42, epoch: 3)
        XCTAssertEqual(order.sorted(), Array(0..<1000))
        XCTAssertEqual(order, shuffledOrder(count: 1000, seed: 42, epoch: 3))
        XCTAssertNotEqual(order, shuffledOrder(count: 1000, seed: 42, epoch: 4))
        XCTAssertEqual(shuffledOrder(count: 0, seed: 1, epoch: 0), [])
        XCTAssertEqual(shuffledOrder(count: 1, seed: 1, epoch: 0), [0])
    }
}
