/// One op, with the operands it takes, run the same way on any backend.
struct OpCase {
    /// How an operand is used.
    enum Role {
        /// Read only: random values.
        case input
        /// Overwritten: poisoned first (NaN), every element must be written.
        case output
        /// Read and written (accumulated, in place): starts from the same random values on both backends.
        case update
    }

    /// The element type an operand has under a storage variant.
    enum Precision {
        /// The variant's float storage (f32 or bf16).
        case storage
        /// Always f32 (rstd, lse, loss, inverse frequencies, weight gradients).
        case f32
        /// i32 values made by the case.
        case int([Int32])
    }

    struct Operand {
        let name: String
        let count: Int
        let role: Role
        let precision: Precision
        /// Random float values are uniform in this range.
        let range: ClosedRange<Float>

        static func input(_ name: String, _ count: Int, _ precision: Precision = .storage,
                          range: ClosedRange<Float> = -1...1) -> Operand {
            Operand(name: name, count: count, role: .input, precision: precision, range: range)
        }
        static func output(_ name: String, _ count: Int, _ precision: Precision = .storage) -> Operand {
            Operand(name: name, count: count, role: .output, precision: precision, range: -1...1)
        }
        static func update(_ name: String, _ count: Int, _ precision: Precision = .storage,
                           range: ClosedRange<Float> = -1...1) -> Operand {
            Operand(name: name, count: count, role: .update, precision: precision, range: range)
        }
        static func ints(_ name: String, _ values: [Int32]) -> Operand {
            Operand(name: name, count: values.count, role: .input, precision: .int(values), range: 0...0)
        }
    }

    let name: String
    let operands: [Operand]
    /// Calls the op on `backend` with the operands in the order of `operands`.
    let run: (any Backend, [TensorRef]) -> Void
}
