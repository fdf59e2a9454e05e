/// An error found while parsing or rendering a template, at a line of the template source.
/// `ChatTemplate` turns it into an `InputError` that names the template's file.
struct TemplateError: Error, CustomStringConvertible {
    let line: Int
    let message: String

    init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    var description: String { "line \(line): \(message)" }
}
