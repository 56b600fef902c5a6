// CSV files (RFC 4180): comma-separated, fields optionally in double quotes ("" inside a quoted field is
// a quote), CRLF or LF line ends, a header row. Every error names the file and the line.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace nn {

struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each row has header.size() fields
  std::vector<int64_t> lines;                  // the file line each row started on (1-based, header is 1)

  // Index of a column, or an error naming the file and listing the columns it has.
  size_t column(const std::string& name) const;
  bool has_column(const std::string& name) const;
};

// Parses a whole file. Errors: unreadable file, empty file, unterminated quote, a row whose field count
// differs from the header's, a repeated or empty column name, text after a closing quote.
CsvTable read_csv(const std::string& path);
CsvTable parse_csv(const std::string& text, const std::string& path);  // `path` names the source in errors

// Writes a header and rows, quoting fields that contain commas, quotes or line breaks.
std::string format_csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

}  // namespace nn
