// What a training run prints, in one of three forms (`skinnet train --log-format`, `--quiet`):
//   text   the human lines on stdout, a progress line on stderr, warnings and notices on stderr;
//   json   one JSON object per line on stdout, for scripts: {"event": "config" | "data" | "stage" | "epoch" |
//          "checkpoint" | "test" | "done" | "paused" | "warning", ...}; no progress line;
//   quiet  nothing but warnings (stderr) and errors;
//   silent nothing at all: the ranks other than 0 of a data-parallel run (their errors end the job with
//          their message, train/dist/world.h).
// Whatever the form, the run folder gets the same files (metrics.jsonl holds the epoch events too).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace nn {

enum class LogFormat { text, json, quiet, silent };

// "text" or "json"; nothing for anything else.
std::optional<LogFormat> parse_log_format(const std::string& text);

class RunLog {
 public:
  explicit RunLog(LogFormat format = LogFormat::text) : format_(format) {}
  LogFormat format() const { return format_; }
  bool progress() const { return format_ == LogFormat::text; }  // draw the epoch's progress line

  // A human line (or lines; a final newline is added when missing), text form only.
  void text(const std::string& s) const;
  // An event, json form only: {"event": kind, ...fields} on one line.
  void event(const std::string& kind, const nlohmann::json& fields) const;
  // A warning or notice: "PREFIX: message" on stderr, or {"event": "warning", "message": ...} in json form.
  void warning(const std::string& message, const char* prefix = "warning") const;

 private:
  LogFormat format_;
};

}  // namespace nn
