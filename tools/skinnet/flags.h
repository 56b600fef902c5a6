// Command-line flags: a table per subcommand, from which parsing, `--help`, bash completion and docs/cli.md's
// tables are all generated (so they cannot disagree).
//
//   Flags flags("predict", "Classifies images.");
//   flags.add("top", "5", "classes listed per image").alias("k", "top").add_switch("json", "one JSON object per image");
//   if (!flags.parse(argc, argv)) return 0;   // --help printed
//
// Every flag takes `--name value` and `--name=value`; `-` and `_` are the same in names (`--batch_size` is
// `--batch-size`). Unknown flags, missing or malformed values and wrong combinations are usage errors
// (UsageError): main() prints them with a pointer to --help and exits 2, where a failure of the work itself
// (an unreadable file, a loss that diverged) exits 1.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace nn {

// A mistake in the command line, as opposed to a failure of the work: exit code 2.
struct UsageError : Error {
  using Error::Error;
};

// Throws UsageError with an fmt-formatted message when `cond` is false.
#define NN_USAGE_CHECK(cond, ...)                                                   \
  do {                                                                              \
    if (!(cond)) [[unlikely]] throw ::nn::UsageError(::fmt::format(__VA_ARGS__)); \
  } while (0)

// Exit codes of every subcommand (docs/cli.md).
inline constexpr int kExitOk = 0, kExitError = 1, kExitUsage = 2;

class Flags {
 public:
  struct Info {  // one row of the table
    std::string name, default_value, help;
    bool is_switch = false;
    std::vector<std::string> aliases;
  };

  Flags(std::string command, std::string summary, std::string usage = "")
      : command_(std::move(command)), summary_(std::move(summary)), usage_(std::move(usage)) {}

  // Declares a flag with its default (as text; "" shows as "none") and a one-line help.
  Flags& add(const std::string& name, const std::string& default_value, const std::string& help);
  // A boolean flag: `--name` alone means true; `--name=false` is accepted too.
  Flags& add_switch(const std::string& name, const std::string& help);
  // Another spelling of flag `target`, accepted and listed in --help as an alias.
  Flags& alias(const std::string& alias, const std::string& target);
  // Flags outside the table that `accepts` takes (train's --section.key settings): it returns the name to
  // keep (or nothing to refuse it); each needs a value and is kept, in order, as "name=value" in extra().
  Flags& pass_through(std::function<std::optional<std::string>(const std::string&)> accepts);
  const std::vector<std::string>& extra() const { return extra_; }
  // Text printed after the flag table by --help (train's settings).
  Flags& epilog(std::string text) {
    epilog_ = std::move(text);
    return *this;
  }
  // Parses argv (after the subcommand). Returns false when --help was given (help already printed).
  bool parse(int argc, char** argv);

  bool on(const std::string& name) const;
  std::string str(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  bool given(const std::string& name) const;  // set on the command line (not its default)
  // A usage error unless the flag was given a non-empty value.
  const Flags& require(const std::string& name, const std::string& why = "") const;
  const std::vector<std::string>& positional() const { return positional_; }

  const std::string& command() const { return command_; }
  const std::string& summary() const { return summary_; }
  std::vector<Info> table() const;
  std::string help() const;

 private:
  struct Flag {
    std::string value, help;
    bool is_switch = false, given = false;
  };
  std::string canonical(const std::string& name) const;  // '_' as '-', an alias as its target
  std::string command_, summary_, usage_;
  std::vector<std::string> order_;
  std::map<std::string, Flag> flags_;
  std::map<std::string, std::string> aliases_;  // alias -> flag
  std::vector<std::string> positional_, extra_;
  std::function<std::optional<std::string>(const std::string&)> pass_through_;
  std::string epilog_;
};

}  // namespace nn
