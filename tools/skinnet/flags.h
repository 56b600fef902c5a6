// Command-line flags: a table per subcommand, `--name=value` (or `--name value`), `--help` generated from
// the same table, unknown flags and malformed values are errors.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace nn {

class Flags {
 public:
  Flags(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {}

  // Declares a flag with its default (as text) and a one-line help.
  Flags& add(const std::string& name, const std::string& default_value, const std::string& help);
  // A boolean flag: `--name` alone means true; `--name=false` is accepted too.
  Flags& add_switch(const std::string& name, const std::string& help);
  bool on(const std::string& name) const;
  // Parses argv (after the subcommand). Returns false when --help was given (help already printed).
  bool parse(int argc, char** argv);

  std::string str(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string help() const;

 private:
  struct Flag {
    std::string value, help;
    bool is_switch = false;
  };
  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> positional_;
};

}  // namespace nn
