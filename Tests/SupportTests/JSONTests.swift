import XCTest
@testable import Support

final class JSONTests: XCTestCase {
    func testParsesNestedValuesAndKeepsKeyOrder() throws {
        let v = try JSON.parse(#"{"z": 1, "a": [true, null, 2.5, "x\u00e9\n"], "m": {"k": -3e2}}"#)
        XCTAssertEqual(v.object?.keys, ["z", "a", "m"])
        XCTAssertEqual(v["z"], .int(1))
        XCTAssertEqual(v["a"]?[0], .bool(true))
        XCTAssertEqual(v["a"]?[1], .null)
        XCTAssertEqual(v["a"]?[2], .double(2.5))
        XCTAssertEqual(v["a"]?[3]?.string, "xé\n")
        XCTAssertEqual(v["m"]?["k"]?.double, -300)
    }

    func testSurrogatePairsDecode() throws {
        XCTAssertEqual(try JSON.parse(#""\ud83d\ude00""#).string, "😀")
    }

    func testRejectsMalformedDocuments() {
        for bad in ["{", "[1,]", "{\"a\" 1}", "\"abc", "tru", "1 2", "{\"a\":1,}", "\"\\x\""] {
            XCTAssertThrowsError(try JSON.parse(bad), bad)
        }
    }

    func testSerializesLikePythonJSONDumps() throws {
        let v = try JSON.parse(#"{"b": [1, 2.0, "é"], "a": {}}"#)
        // json.dumps(v) and json.dumps(v, ensure_ascii=False)
        XCTAssertEqual(v.serialized(.init(ensureASCII: true)), #"{"b": [1, 2.0, "\u00e9"], "a": {}}"#)
        XCTAssertEqual(v.serialized(.init()), #"{"b": [1, 2.0, "é"], "a": {}}"#)
        // json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True)
        XCTAssertEqual(v.serialized(.init(indent: 2, sortKeys: true)),
                       "{\n  \"a\": {},\n  \"b\": [\n    1,\n    2.0,\n    \"é\"\n  ]\n}")
    }

    func testPythonFloatRepr() {
        XCTAssertEqual(JSON.pythonFloat(1e-5), "1e-05")
        XCTAssertEqual(JSON.pythonFloat(0.0001), "0.0001")
        XCTAssertEqual(JSON.pythonFloat(500000.0), "500000.0")
        XCTAssertEqual(JSON.pythonFloat(3.14), "3.14")
    }
}
