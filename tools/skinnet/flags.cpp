// Command-line flag parsing (see flags.h).
#include "tools/skinnet/flags.h"

#include <cmath>
#include <cstdio>

#include "base/error.h"

namespace nn {

Flags& Flags::add(const std::string& name, const std::string& default_value, const std::string& help) {
  order_.push_back(name);
  flags_[name] = {default_value, help};
  return *this;
}

Flags& Flags::add_switch(const std::string& name, const std::string& help) {
  order_.push_back(name);
  flags_[name] = {"false", help, true};
  return *this;
}

bool Flags::on(const std::string& name) const {
  const std::string v = str(name);
  NN_CHECK(v == "true" || v == "false" || v == "1" || v == "0", "skinnet {}: --{}={} is not true or false", command_,
           name, v);
  return v == "true" || v == "1";
}

std::string Flags::help() const {
  std::string s = fmt::format("usage: skinnet {} [--flag=value ...]\n{}\n", command_, summary_);
  if (!order_.empty()) s += "\nflags:\n";
  for (const auto& name : order_) {
    const Flag& f = flags_.at(name);
    if (f.is_switch) s += fmt::format("  --{:<16} {}\n", name, f.help);
    else s += fmt::format("  --{:<16} {} (default: {})\n", name, f.help, f.value.empty() ? "none" : f.value);
  }
  return s;
}

bool Flags::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    if (arg.rfind("--", 0) != 0) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = flags_.find(name);
    NN_CHECK(it != flags_.end(), "skinnet {}: unknown flag --{}; see `skinnet {} --help`", command_, name, command_);
    if (eq == std::string::npos) {
      if (it->second.is_switch) {
        value = "true";
      } else {
        NN_CHECK(i + 1 < argc, "skinnet {}: flag --{} needs a value (--{}=VALUE)", command_, name, name);
        value = argv[++i];
      }
    }
    it->second.value = value;
  }
  return true;
}

std::string Flags::str(const std::string& name) const {
  auto it = flags_.find(name);
  NN_INTERNAL_CHECK(it != flags_.end());
  return it->second.value;
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
  NN_CHECK(used == v.size() && !v.empty(), "skinnet {}: --{}={} is not an integer", command_, name, v);
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
  NN_CHECK(used == v.size() && !v.empty() && std::isfinite(out), "skinnet {}: --{}={} is not a number", command_, name, v);
  return out;
}

}  // namespace nn
