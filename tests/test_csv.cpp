// CSV: RFC 4180 quoting, line ends, byte-order marks, header-less files, the writer's round trip, and
// every malformed input named by file and line.
#include "base/random.h"
#include "tests/check.h"
#include "tests/support.h"
#include "train/data/csv.h"

namespace nn::test {

namespace {

using Rows = std::vector<std::vector<std::string>>;

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("csv: quoted commas, quotes and line breaks; CRLF; a byte-order mark; a blank last line") {
    const std::string text =
        "\xEF\xBB\xBFid,note,n\r\n"
        "a,\"x, y\",1\r\n"
        "b,\"say \"\"hi\"\"\",2\n"
        "c,\"two\nlines\",3\n"
        "d,,\n"
        "e,\"\",\"\"\n"
        "\n";
    const CsvTable t = parse_csv(text, "notes.csv");
    CHECK(t.header == std::vector<std::string>{"id", "note", "n"});
    CHECK(t.rows ==
          Rows{{"a", "x, y", "1"}, {"b", "say \"hi\"", "2"}, {"c", "two\nlines", "3"}, {"d", "", ""}, {"e", "", ""}});
    CHECK(t.lines == std::vector<int64_t>{2, 3, 4, 6, 7});  // row c spans lines 4-5
    CHECK(t.where(3) == "notes.csv:6");
    CHECK(t.column("n") == 2);
    CHECK(t.has_column("note"));
    CHECK_FALSE(t.has_column("Note"));
  }

  TEST_CASE("csv: no trailing newline, a lone CR kept in a field, a quote inside an unquoted field kept") {
    const CsvTable t = parse_csv("a,b\n1\r2,x\"y", "x.csv");
    CHECK(t.rows == Rows{{"1\r2", "x\"y"}});
  }

  TEST_CASE("csv: header-less files name their columns 0, 1, ... (ISIC 2016 ground truth)") {
    const CsvTable t = parse_csv("ISIC_0000000,benign\nISIC_0000001,malignant\n", "gt.csv", CsvHeader::none);
    CHECK(t.header == std::vector<std::string>{"0", "1"});
    CHECK(t.rows == Rows{{"ISIC_0000000", "benign"}, {"ISIC_0000001", "malignant"}});
    CHECK(t.lines == std::vector<int64_t>{1, 2});
    CHECK(t.column("1") == 1);
  }

  TEST_CASE("csv: format_csv quotes what needs it and reads back the same table") {
    const std::vector<std::string> header = {"id", "text"};
    const Rows rows = {{"plain", "a,b"},
                       {"q\"uote", "line\nbreak"},
                       {"", "cr\r"},
                       {"\xEF\xBB\xBF"
                        "bom",
                        " sp "}};
    const std::string text = format_csv(header, rows);
    CHECK(text ==
          "id,text\nplain,\"a,b\"\n\"q\"\"uote\",\"line\nbreak\"\n,\"cr\r\"\n\"\xEF\xBB\xBF"
          "bom\", sp \n");
    const CsvTable t = parse_csv(text, "round.csv");
    CHECK(t.header == header);
    CHECK(t.rows == rows);
    // A one-column file: an empty field must not read back as a blank (skipped) line.
    const Rows single = {{"x"}, {""}, {""}};
    CHECK(parse_csv(format_csv({"only"}, single), "one.csv").rows == single);
  }

  TEST_CASE("csv: random bytes either parse (and round-trip through format_csv) or raise nn::Error") {
    // A small in-test fuzzer over the characters that matter; `make fuzz` runs the libFuzzer version.
    const std::string alphabet = "ab,,\"\"\r\n\n\xEF\xBB\xBF";
    Generator g(11);
    int parsed = 0, refused = 0;
    for (int trial = 0; trial < 20000; ++trial) {
      const size_t len = static_cast<size_t>(g.next_double() * 24);
      std::string text;
      for (size_t i = 0; i < len; ++i) text += alphabet[static_cast<size_t>(g.next_double() * alphabet.size())];
      CsvTable t;
      try {
        t = parse_csv(text, "fuzz.csv");
      } catch (const Error&) {
        ++refused;
        continue;
      }
      ++parsed;
      for (const auto& row : t.rows) REQUIRE(row.size() == t.header.size());
      const CsvTable again = parse_csv(format_csv(t.header, t.rows), "again.csv");
      REQUIRE_MESSAGE(again.header == t.header, "input: " << nlohmann::json(text).dump());
      REQUIRE_MESSAGE(again.rows == t.rows, "input: " << nlohmann::json(text).dump());
    }
    MESSAGE("csv fuzz: " << parsed << " parsed, " << refused << " refused");
    CHECK(parsed > 1000);
    CHECK(refused > 1000);
  }

  TEST_CASE("csv: read_csv reads a file and names it") {
    const TempDir dir("csv");
    const std::string path = dir.write("read.csv", "a,b\r\n1,2\r\n");
    const CsvTable t = read_csv(path);
    CHECK(t.path == path);
    CHECK(t.rows == Rows{{"1", "2"}});
    CHECK(t.where(0) == path + ":2");
  }
}

TEST_SUITE("errors") {
  TEST_CASE("csv: malformed files are refused with the file and line") {
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n3,\"open\n\nmore", "u.csv"),
                         doctest::Contains("u.csv:3: unterminated quoted field"), Error);
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n3\n", "n.csv"),
                         doctest::Contains("n.csv:3: 1 field but the header has 2"), Error);
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2,3\n", "n.csv"),
                         doctest::Contains("n.csv:2: 3 fields but the header has 2"), Error);
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n\n3,4\n", "blank.csv"), doctest::Contains("blank.csv:3: 1 field"), Error);
    CHECK_THROWS_WITH_AS(parse_csv("a,,c\n", "e.csv"),
                         doctest::Contains("e.csv:1: column 2 of the header has an empty name"), Error);
    CHECK_THROWS_WITH_AS(parse_csv("a,b,a\n", "r.csv"),
                         doctest::Contains("r.csv:1: column 'a' is repeated (columns 1 and 3)"), Error);
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,\"2\"x\n", "t.csv"),
                         doctest::Contains("t.csv:2: text after a closing quote"), Error);
    for (const char* empty : {"", "\xEF\xBB\xBF", "\n", "\r\n\n"})
      CHECK_THROWS_WITH_AS(parse_csv(empty, "empty.csv"), doctest::Contains("empty.csv: the file is empty"), Error);
    CHECK_THROWS_WITH_AS(parse_csv("", "e.csv", CsvHeader::none), doctest::Contains("e.csv: the file is empty"), Error);
    CHECK_THROWS_WITH_AS(parse_csv("x,1\ny\n", "none.csv", CsvHeader::none),
                         doctest::Contains("none.csv:2: 1 field but the first row has 2"), Error);
  }

  TEST_CASE("csv: a missing file, a folder, and a missing column are named") {
    CHECK_THROWS_WITH_AS(read_csv("/nonexistent/meta.csv"), doctest::Contains("/nonexistent/meta.csv: no such file"),
                         Error);
    // Any folder will do: /tmp is one every Linux machine has, and it is only looked at, never written.
    CHECK_THROWS_WITH_AS(read_csv("/tmp"), doctest::Contains("/tmp: is a folder"), Error);
    const CsvTable t = parse_csv("image,MEL\n", "gt.csv");
    CHECK_THROWS_WITH_AS(t.column("NV"), doctest::Contains("gt.csv: no column 'NV'; the file has columns: image, MEL"),
                         Error);
  }
}

}  // namespace nn::test
