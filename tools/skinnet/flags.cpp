// Command-line flag parsing (see flags.h).
#include "tools/skinnet/flags.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace nn {

Flags& Flags::add(const std::string& name, const std::string& default_value, const std::string& help) {
  NN_INTERNAL_CHECK(!flags_.count(name) && name.find('_') == std::string::npos);
  order_.push_back(name);
  flags_[name] = {default_value, help};
  // Shared short spellings, the same in every command.
  if (name == "batch-size") aliases_["batch"] = name;
  if (name == "input-size") aliases_["input"] = name;
  return *this;
}

Flags& Flags::add_switch(const std::string& name, const std::string& help) {
  NN_INTERNAL_CHECK(!flags_.count(name) && name.find('_') == std::string::npos);
  order_.push_back(name);
  flags_[name] = {"false", help, true};
  return *this;
}

Flags& Flags::alias(const std::string& alias, const std::string& target) {
  NN_INTERNAL_CHECK(flags_.count(target) && !flags_.count(alias));
  aliases_[alias] = target;
  return *this;
}

Flags& Flags::pass_through(std::function<std::optional<std::string>(const std::string&)> accepts) {
  pass_through_ = std::move(accepts);
  return *this;
}

std::string Flags::canonical(const std::string& name) const {
  std::string n = name;
  std::replace(n.begin(), n.end(), '_', '-');
  auto a = aliases_.find(n);
  return a == aliases_.end() ? n : a->second;
}

std::vector<Flags::Info> Flags::table() const {
  std::vector<Info> rows;
  for (const auto& name : order_) {
    const Flag& f = flags_.at(name);
    Info row{name, f.value, f.help, f.is_switch, {}};
    for (const auto& [a, target] : aliases_)
      if (target == name) row.aliases.push_back(a);
    rows.push_back(row);
  }
  return rows;
}

std::string Flags::help() const {
  std::string s = usage_.empty() ? fmt::format("usage: skinnet {} [--flag value ...]\n{}\n", command_, summary_)
                                 : fmt::format("usage: {}\n{}\n", usage_, summary_);
  if (!order_.empty()) s += "\nflags (--flag value or --flag=value):\n";
  for (const Info& f : table()) {
    std::string names = "--" + f.name;
    for (const auto& a : f.aliases) names += ", --" + a;
    if (f.is_switch) s += fmt::format("  {:<24} {}\n", names, f.help);
    else s += fmt::format("  {:<24} {} (default: {})\n", names, f.help, f.default_value.empty() ? "none" : f.default_value);
  }
  return s + epilog_;
}

bool Flags::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    if (arg == "--") {  // everything after is positional, even if it starts with --
      for (++i; i < argc; ++i) positional_.push_back(argv[i]);
      break;
    }
    if (arg.rfind("--", 0) != 0) {
      NN_USAGE_CHECK(arg.size() < 2 || arg[0] != '-' || std::isdigit(static_cast<unsigned char>(arg[1])),
                     "unknown option {}; flags are spelled --name (see `skinnet {} --help`)", arg, command_);
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = flags_.find(canonical(name));
    const std::optional<std::string> extra =
        it == flags_.end() && pass_through_ ? pass_through_(name) : std::nullopt;  // train's --section.key
    NN_USAGE_CHECK(it != flags_.end() || extra, "unknown flag --{}; see `skinnet {} --help`", name, command_);
    if (eq == std::string::npos) {
      if (!extra && it->second.is_switch) {
        value = "true";
      } else {
        NN_USAGE_CHECK(i + 1 < argc, "flag --{} needs a value (--{} VALUE or --{}=VALUE)", name, name, name);
        value = argv[++i];
      }
    }
    if (extra) {
      extra_.push_back(*extra + "=" + value);
      continue;
    }
    it->second.value = value;
    it->second.given = true;
  }
  return true;
}

std::string Flags::str(const std::string& name) const {
  auto it = flags_.find(name);
  NN_INTERNAL_CHECK(it != flags_.end());
  return it->second.value;
}

bool Flags::given(const std::string& name) const {
  auto it = flags_.find(name);
  NN_INTERNAL_CHECK(it != flags_.end());
  return it->second.given;
}

const Flags& Flags::require(const std::string& name, const std::string& why) const {
  NN_USAGE_CHECK(!str(name).empty(), "--{} is required{}{}", name, why.empty() ? "" : ": ", why);
  return *this;
}

bool Flags::on(const std::string& name) const {
  const std::string v = str(name);
  NN_USAGE_CHECK(v == "true" || v == "false" || v == "1" || v == "0", "--{}={} is not true or false", name, v);
  return v == "true" || v == "1";
}

int64_t Flags::integer(const std::string& name) const {
  const std::string v = str(name);
  size_t used = 0;
  int64_t out = 0;
  try {
    out = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  NN_USAGE_CHECK(used == v.size() && !v.empty(), "--{}={} is not an integer", name, v);
  return out;
}

double Flags::real(const std::string& name) const {
  const std::string v = str(name);
  size_t used = 0;
  double out = 0;
  try {
    out = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  NN_USAGE_CHECK(used == v.size() && !v.empty() && std::isfinite(out), "--{}={} is not a number", name, v);
  return out;
}

}  // namespace nn
