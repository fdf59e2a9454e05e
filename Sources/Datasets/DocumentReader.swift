import Support
import Tokenization

/// Reads row i of a dataset file as a tokenized document: bytes by offset, JSON parse,
/// format check, tokenization. Every problem becomes an `InputError` naming file and line.
final class DocumentReader {
    let rows: RowIndex
    let format: DataFormat
    private let encoder: DocumentEncoder

    var count: Int { rows.count }
    var path: String { rows.path }

    /// `format` nil: detected from the first row's keys.
    init(path: String, format: DataFormat?, encoder: any TextEncoding, chatTemplate: (any ChatRendering)?) throws {
        rows = try RowIndex(path: path)
        guard rows.count > 0 else { throw InputError(file: path, "the dataset is empty: no rows") }
        self.encoder = DocumentEncoder(encoder: encoder, chatTemplate: chatTemplate)
        if let format {
            self.format = format
        } else {
            let first = try DocumentReader.parse(rows, 0)
            let keys = first.object?.keys ?? []
            guard let detected = DataFormat.detect(keys: keys) else {
                throw InputError(
                    file: path, location: rows.location(of: 0),
                    "cannot tell the data format from the keys [\(keys.joined(separator: ", "))]: expected \"text\", "
                        + "\"instruction\"+\"output\", \"messages\" or \"input_ids\" (or pass --data-format)")
            }
            self.format = detected
        }
    }

    func document(_ row: Int) throws -> TokenizedDocument {
        let json = try DocumentReader.parse(rows, row)
        do {
            return try encoder.encode(try DatasetRecord(json: json, format: format))
        } catch let e as RowError {
            throw InputError(file: path, location: rows.location(of: row), e.description)
        } catch {
            // Tokenizer or chat template failures (e.g. a template that raises on this row).
            throw InputError(file: path, location: rows.location(of: row), "cannot tokenize this row: \(error)")
        }
    }

    private static func parse(_ rows: RowIndex, _ row: Int) throws -> JSON {
        do {
            return try JSON.parse(rows.rowBytes(row))
        } catch let e as JSONParseError {
            throw InputError(file: rows.path, location: rows.location(of: row), "malformed JSON: \(e.message) (byte \(e.offset) of the row)")
        }
    }
}
