// CSV files (RFC 4180): comma-separated, fields optionally in double quotes ("" inside a quoted field is
// a quote), CRLF or LF line ends, a header row (or none). Every error names the file and the line.
//
// Reader details: a UTF-8 byte-order mark at the start is dropped; blank lines at the end of the file are
// ignored (a blank line elsewhere is a row with one empty field, so it is a field-count error unless the
// file has one column); a quote inside an unquoted field is kept as a character (as Python's csv does);
// a lone CR that is not followed by LF is part of the field. Lines are counted by LF, including those
// inside quoted fields, so `where(row)` points at the line an editor shows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nn {

// Whether the first row names the columns. Without a header (ISIC 2016 ground truth) the columns are
// named "0", "1", ... and the first row's field count sets the width.
enum class CsvHeader { first_row, none };

struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each row has header.size() fields
  std::vector<int64_t> lines;                  // the file line each row started on (1-based, header is 1)

  // Index of a column, or an error naming the file and listing the columns it has.
  size_t column(const std::string& name) const;
  bool has_column(const std::string& name) const;
  // "path:line" of a row, for messages.
  std::string where(size_t row) const;
};

// Parses a whole file. Errors: unreadable file, empty file, unterminated quote, a row whose field count
// differs from the header's, a repeated or empty column name, text after a closing quote.
CsvTable read_csv(const std::string& path, CsvHeader header = CsvHeader::first_row);
// `path` names the source in errors.
CsvTable parse_csv(const std::string& text, const std::string& path, CsvHeader header = CsvHeader::first_row);

// Writes a header and rows, quoting fields that contain commas, quotes or line breaks (and those the reader
// would otherwise change: a leading byte-order mark, the empty field of a one-column row). LF line ends.
std::string format_csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

}  // namespace nn
