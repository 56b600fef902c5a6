// libFuzzer target: the CSV parser (train/data/csv.h) on arbitrary bytes.
//
// Any input must either parse or raise nn::Error; nothing else (a crash, a sanitizer report, another
// exception) is acceptable. A file that parses must survive a round trip: formatting its rows and parsing
// them again gives the same table, or the writer and the reader disagree about quoting.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "train/data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nn::CsvTable table;
  try {
    table = nn::parse_csv(text, "fuzz.csv");
  } catch (const nn::Error&) {
    return 0;  // a clear error is a correct answer to bad input
  }
  for (const auto& row : table.rows)
    if (row.size() != table.header.size()) std::abort();  // the reader's own contract
  const nn::CsvTable again = nn::parse_csv(nn::format_csv(table.header, table.rows), "fuzz-roundtrip.csv");
  if (again.header != table.header || again.rows != table.rows) std::abort();
  return 0;
}
