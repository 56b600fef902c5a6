// The CSV reader and writer (see csv.h): one pass over the bytes, a record at a time.
#include "train/data/csv.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace nn {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

struct Record {
  std::vector<std::string> fields;
  int64_t line = 0;
  bool blank = false;  // an empty line: no characters at all, not even "" (skipped at the end of the file)
};

// Splits `text` into records. Quoted fields may hold commas, quotes ("") and line breaks.
std::vector<Record> split_records(std::string_view text, const std::string& path) {
  std::vector<Record> records;
  size_t pos = text.starts_with(kBom) ? kBom.size() : 0;
  const size_t n = text.size();
  int64_t line = 1;
  while (pos < n) {
    Record rec;
    rec.line = line;
    bool last_quoted = false;
    for (;;) {
      std::string field;
      last_quoted = pos < n && text[pos] == '"';
      if (last_quoted) {
        const int64_t quote_line = line;
        ++pos;
        for (;;) {
          NN_CHECK(pos < n, "{}:{}: unterminated quoted field (the closing \" is missing)", path, quote_line);
          const char c = text[pos];
          if (c == '"') {
            if (pos + 1 < n && text[pos + 1] == '"') {
              field += '"';
              pos += 2;
              continue;
            }
            ++pos;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++pos;
        }
        const bool at_end = pos >= n || text[pos] == ',' || text[pos] == '\n' ||
                            (text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n');
        NN_CHECK(at_end, "{}:{}: text after a closing quote (a quoted field must end at a comma or the line end)", path,
                 line);
      } else {
        const size_t start = pos;
        while (pos < n && text[pos] != ',' && text[pos] != '\n' &&
               !(text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n'))
          ++pos;
        field.assign(text.substr(start, pos - start));
      }
      rec.fields.push_back(std::move(field));
      if (pos >= n) break;
      if (text[pos] == ',') {
        ++pos;
        continue;
      }
      pos += text[pos] == '\r' ? 2 : 1;  // CRLF or LF ends the record
      ++line;
      break;
    }
    rec.blank = rec.fields.size() == 1 && rec.fields[0].empty() && !last_quoted;
    records.push_back(std::move(rec));
  }
  while (!records.empty() && records.back().blank) records.pop_back();
  return records;
}

}  // namespace

size_t CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  NN_FAIL("{}: no column '{}'; the file has columns: {}", path, name, fmt::join(header, ", "));
}

bool CsvTable::has_column(const std::string& name) const {
  for (const std::string& h : header)
    if (h == name) return true;
  return false;
}

std::string CsvTable::where(size_t row) const {
  return row < lines.size() ? fmt::format("{}:{}", path, lines[row]) : path;
}

CsvTable parse_csv(const std::string& text, const std::string& path, CsvHeader header) {
  std::vector<Record> records = split_records(text, path);
  NN_CHECK(!records.empty(), "{}: the file is empty (expected {})", path,
           header == CsvHeader::first_row ? "a header row naming the columns" : "at least one row");
  CsvTable table;
  table.path = path;
  size_t first = 0;
  if (header == CsvHeader::first_row) {
    table.header = std::move(records[0].fields);
    first = 1;
    for (size_t i = 0; i < table.header.size(); ++i) {
      NN_CHECK(!table.header[i].empty(), "{}:1: column {} of the header has an empty name (header: {})", path, i + 1,
               fmt::join(table.header, ","));
      for (size_t j = 0; j < i; ++j)
        NN_CHECK(table.header[j] != table.header[i], "{}:1: column '{}' is repeated (columns {} and {})", path,
                 table.header[i], j + 1, i + 1);
    }
  } else {
    for (size_t i = 0; i < records[0].fields.size(); ++i) table.header.push_back(std::to_string(i));
  }
  table.rows.reserve(records.size() - first);
  table.lines.reserve(records.size() - first);
  for (size_t r = first; r < records.size(); ++r) {
    Record& rec = records[r];
    NN_CHECK(rec.fields.size() == table.header.size(), "{}:{}: {} field{} but the {} has {}", path, rec.line,
             rec.fields.size(), rec.fields.size() == 1 ? "" : "s",
             header == CsvHeader::first_row ? "header" : "first row", table.header.size());
    table.rows.push_back(std::move(rec.fields));
    table.lines.push_back(rec.line);
  }
  return table;
}

CsvTable read_csv(const std::string& path, CsvHeader header) {
  std::error_code ec;
  NN_CHECK(std::filesystem::exists(path, ec), "{}: no such file (expected a CSV file)", path);
  NN_CHECK(!std::filesystem::is_directory(path, ec), "{}: is a folder, expected a CSV file", path);
  std::ifstream in(path, std::ios::binary);
  NN_CHECK(in.good(), "{}: cannot open for reading", path);
  std::ostringstream text;
  text << in.rdbuf();
  NN_CHECK(!in.bad(), "{}: read error", path);
  return parse_csv(text.str(), path, header);
}

namespace {

// Quotes a field when the reader would otherwise split or change it.
void append_field(std::string& out, const std::string& field, bool only_field) {
  const bool quote = field.find_first_of(",\"\r\n") != std::string::npos || std::string_view(field).starts_with(kBom) ||
                     (only_field && field.empty());
  if (!quote) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_row(std::string& out, const std::vector<std::string>& row) {
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) out += ',';
    append_field(out, row[i], row.size() == 1);
  }
  out += '\n';
}

}  // namespace

std::string format_csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  append_row(out, header);
  for (const auto& row : rows) append_row(out, row);
  return out;
}

}  // namespace nn
