/// The syntax tree of a parsed template: expressions and statements, each with its source line.
indirect enum JinjaExpr: Sendable {
    case literal(JinjaLiteral)
    case name(String, line: Int)
    case list([JinjaExpr])
    case tuple([JinjaExpr])
    case dict([(key: JinjaExpr, value: JinjaExpr)], line: Int)
    case attribute(JinjaExpr, String, line: Int)                          // a.b
    case index(JinjaExpr, JinjaExpr, line: Int)                       // a[b]
    case slice(JinjaExpr, start: JinjaExpr?, stop: JinjaExpr?, step: JinjaExpr?, line: Int)
    case call(JinjaExpr, JinjaArguments, line: Int)
    case filter(JinjaExpr, name: String, JinjaArguments, line: Int)       // a | f(args)
    case test(JinjaExpr, name: String, negated: Bool, JinjaArguments, line: Int)  // a is [not] t(args)
    case unary(String, JinjaExpr, line: Int)                              // not, -, +
    case binary(String, JinjaExpr, JinjaExpr, line: Int)                  // + - * / // % ** ~
    case logical(isAnd: Bool, JinjaExpr, JinjaExpr)                       // and / or
    case compare(JinjaExpr, [(op: String, JinjaExpr)], line: Int)         // a < b <= c, in, not in
    case conditional(then: JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
}

enum JinjaLiteral: Sendable {
    case none, bool(Bool), integer(Int), float(Double), string(String)
}

struct JinjaArguments: Sendable {
    var positional: [JinjaExpr] = []
    var keyword: [(name: String, value: JinjaExpr)] = []
}

/// Where `for` and `set` store values: a name, an attribute of a namespace, or a tuple to unpack.
indirect enum JinjaTarget: Sendable {
    case name(String)
    case attribute(String, String)  // ns.attr
    case tuple([JinjaTarget])
}

indirect enum JinjaNode: Sendable {
    case text(String)
    case output(JinjaExpr, line: Int)
    case ifChain([(condition: JinjaExpr, body: [JinjaNode])], otherwise: [JinjaNode])
    case forLoop(target: JinjaTarget, iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode],
                 otherwise: [JinjaNode], line: Int)
    case set(JinjaTarget, JinjaExpr, line: Int)
    case setBlock(String, body: [JinjaNode])
    case macro(JinjaMacro)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
    /// transformers' `{% generation %}` marks assistant text for masks; it renders its body.
    case generation([JinjaNode])
}

struct JinjaMacro: Sendable {
    let name: String
    let parameters: [(name: String, defaultValue: JinjaExpr?)]
    let body: [JinjaNode]
    let line: Int
}
