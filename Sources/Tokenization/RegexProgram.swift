/// A pattern compiled for a backtracking machine. Backtracking in priority order gives the
/// semantics of Oniguruma (used by Hugging Face `tokenizers`): leftmost match, first alternative
/// that succeeds, greedy quantifiers that give back one step at a time.
struct RegexProgram: Sendable {
    private enum Instruction: Sendable {
        case scalar(UInt32)
        case classTest(Int)
        /// Go on at `preferred`; on failure, resume at `alternative` at the same position.
        case split(preferred: Int, alternative: Int)
        case jump(Int)
        /// Assertion whose body starts at the next instruction and ends with `succeed`; continue at `next`.
        case lookahead(negated: Bool, next: Int)
        case succeed
    }

    private let code: [Instruction]
    private let classes: [RegexCharacterClass]

    init(pattern: String) throws {
        try self.init(node: RegexParser.parse(pattern))
    }

    init(node: RegexNode) {
        var compiler = Compiler()
        compiler.emit(node)
        compiler.code.append(.succeed)
        code = compiler.code
        classes = compiler.classes
    }

    /// A program matching exactly `literal` (Split patterns given as {"String": ...}).
    init(literal: String) {
        self.init(node: .sequence(literal.unicodeScalars.map { .literal($0, caseInsensitive: false) }))
    }

    private struct Compiler {
        var code: [Instruction] = []
        var classes: [RegexCharacterClass] = []

        mutating func emit(_ node: RegexNode) {
            switch node {
            case .literal(let scalar, let caseInsensitive):
                let variants = caseInsensitive ? CaseFolding.variants(of: scalar) : [scalar]
                if variants.count == 1 {
                    code.append(.scalar(scalar.value))
                } else {
                    emitClass(RegexCharacterClass(items: variants.map { .range($0.value, $0.value) }, negated: false))
                }
            case .characterClass(let cls):
                emitClass(cls)
            case .sequence(let nodes):
                for n in nodes { emit(n) }
            case .alternation(let branches):
                var jumpsToEnd: [Int] = []
                for (i, branch) in branches.enumerated() {
                    if i == branches.count - 1 {
                        emit(branch)
                    } else {
                        let split = placeholder()
                        emit(branch)
                        jumpsToEnd.append(placeholder())
                        code[split] = .split(preferred: split + 1, alternative: code.count)
                    }
                }
                for j in jumpsToEnd { code[j] = .jump(code.count) }
            case .repetition(let body, let min, let max, let greedy):
                for _ in 0..<min { emit(body) }
                if let max {
                    // Optional copies: x{1,3} = x(x(x)?)?; any failed copy skips all later ones.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(placeholder())
                        emit(body)
                    }
                    for s in splits { code[s] = choice(enter: s + 1, skip: code.count, greedy: greedy) }
                } else {
                    let loop = placeholder()
                    emit(body)
                    code.append(.jump(loop))
                    code[loop] = choice(enter: loop + 1, skip: code.count, greedy: greedy)
                }
            case .lookahead(let body, let negated):
                let assertion = placeholder()
                emit(body)
                code.append(.succeed)
                code[assertion] = .lookahead(negated: negated, next: code.count)
            }
        }

        private func choice(enter: Int, skip: Int, greedy: Bool) -> Instruction {
            greedy ? .split(preferred: enter, alternative: skip) : .split(preferred: skip, alternative: enter)
        }

        private mutating func emitClass(_ cls: RegexCharacterClass) {
            classes.append(cls)
            code.append(.classTest(classes.count - 1))
        }

        private mutating func placeholder() -> Int {
            code.append(.succeed)
            return code.count - 1
        }
    }

    /// Calls `body(start, end)` for each match, left to right, as Oniguruma's `find_iter` reports
    /// them: after an empty match that touches the previous match's end, the search moves on one scalar.
    func forEachMatch(in text: UnsafeBufferPointer<Unicode.Scalar>, _ body: (Int, Int) -> Void) {
        var stack: [Int] = []
        stack.reserveCapacity(64)
        var searchFrom = 0
        var previousEnd: Int?
        while searchFrom <= text.count {
            var found: (start: Int, end: Int)?
            var start = searchFrom
            while start <= text.count {
                if let end = run(pc: 0, at: start, in: text, stack: &stack) {
                    found = (start, end)
                    break
                }
                start += 1
            }
            guard let match = found else { return }
            if match.start == match.end && previousEnd == match.end {
                searchFrom += 1
                continue
            }
            searchFrom = match.end
            previousEnd = match.end
            body(match.start, match.end)
        }
    }

    /// The backtracking machine; `stack` holds (pc, position) pairs of alternatives still to try.
    private func run(pc startPC: Int, at start: Int, in text: UnsafeBufferPointer<Unicode.Scalar>,
                     stack: inout [Int]) -> Int? {
        let base = stack.count
        var pc = startPC
        var pos = start
        let n = text.count
        while true {
            var failed = false
            switch code[pc] {
            case .scalar(let v):
                if pos < n && text[pos].value == v { pos += 1; pc += 1 } else { failed = true }
            case .classTest(let index):
                if pos < n && classes[index].contains(text[pos]) { pos += 1; pc += 1 } else { failed = true }
            case .split(let preferred, let alternative):
                stack.append(alternative)
                stack.append(pos)
                pc = preferred
            case .jump(let target):
                pc = target
            case .lookahead(let negated, let next):
                let holds = run(pc: pc + 1, at: pos, in: text, stack: &stack) != nil
                if holds != negated { pc = next } else { failed = true }
            case .succeed:
                stack.removeSubrange(base...)
                return pos
            }
            if failed {
                if stack.count == base { return nil }
                pos = stack.removeLast()
                pc = stack.removeLast()
            }
        }
    }
}
