// Epoch progress (see progress.h).
#include "train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace nn {

Progress::Progress(std::string label, int64_t total_batches, int64_t plain_every, bool shown)
    : label_(std::move(label)), total_(total_batches), plain_every_(plain_every), shown_(shown),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t images, double mean_loss, double accuracy) {
  ++done_;
  images_ += images;
  loss_ = mean_loss;
  accuracy_ = accuracy;
  if (tty_ || done_ % plain_every_ == 0) draw(false);
}

double Progress::finish() {
  draw(true);
  return images_ / std::max(seconds(), 1e-9);
}

void Progress::draw(bool final) {
  if (!shown_) return;
  const double s = seconds();
  const double ips = images_ / std::max(s, 1e-9);
  const double eta = done_ > 0 ? s / static_cast<double>(done_) * static_cast<double>(total_ - done_) : 0;
  const std::string stats = fmt::format("{:>4}/{} batches  {:6.1f} img/s  loss {:.4f}  acc {:.3f}  {}", done_, total_, ips,
                                        loss_, accuracy_, final ? fmt::format("{:.0f} s", s) : fmt::format("ETA {:.0f} s", eta));
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : kWidth;
    std::fprintf(stderr, "\r%s [%s%s] %s\033[K%s", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), stats.c_str(), final ? "\n" : "");
  } else if (final || done_ % plain_every_ == 0) {
    std::fprintf(stderr, "%s %s\n", label_.c_str(), stats.c_str());
  }
  std::fflush(stderr);
}

}  // namespace nn
