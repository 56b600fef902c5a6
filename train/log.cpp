// Run output in text, JSON lines or quiet form (see log.h).
#include "train/log.h"

#include <cstdio>

#include "base/error.h"

namespace nn {

std::optional<LogFormat> parse_log_format(const std::string& text) {
  if (text == "text") return LogFormat::text;
  if (text == "json") return LogFormat::json;
  return std::nullopt;
}

void RunLog::text(const std::string& s) const {
  if (format_ != LogFormat::text) return;
  std::fputs(s.c_str(), stdout);
  if (s.empty() || s.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
}

void RunLog::event(const std::string& kind, const nlohmann::json& fields) const {
  if (format_ != LogFormat::json) return;
  NN_INTERNAL_CHECK(fields.is_object());
  const std::string rest = fields.dump();  // "{...}": the event's name goes first
  std::printf("{\"event\":%s%s%s\n", nlohmann::json(kind).dump().c_str(), rest.size() > 2 ? "," : "", rest.c_str() + 1);
  std::fflush(stdout);
}

void RunLog::warning(const std::string& message, const char* prefix) const {
  if (format_ == LogFormat::silent) return;
  if (format_ == LogFormat::json) {
    event("warning", {{"kind", prefix}, {"message", message}});
    return;
  }
  std::fprintf(stderr, "%s: %s\n", prefix, message.c_str());
}

}  // namespace nn
