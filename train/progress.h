// Progress of an epoch: on a terminal, one line redrawn in place (a bar, images/s, the running loss and
// the time left); otherwise (a log file, CI) a plain line every `plain_every` batches and at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace nn {

class Progress {
 public:
  // `shown` false: counts and times, draws nothing (skinnet train --quiet or --log-format json).
  Progress(std::string label, int64_t total_batches, int64_t plain_every = 20, bool shown = true);
  // After each batch: its size and the running mean loss and accuracy.
  void update(int64_t images, double mean_loss, double accuracy);
  // Ends the line (terminal) and returns the epoch's images per second.
  double finish();
  double seconds() const;

 private:
  std::string label_;
  int64_t total_, done_ = 0, images_ = 0, plain_every_;
  bool shown_, tty_;
  std::chrono::steady_clock::time_point start_;
  double loss_ = 0, accuracy_ = 0;
  void draw(bool final);
};

}  // namespace nn
