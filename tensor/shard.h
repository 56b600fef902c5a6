// Batch shards: data-parallel training's view of a batch from one rank (docs/distributed.md).
//
// With N ranks each process holds rows [first, first + n) of a global batch of `total` rows. While a
// BatchShard lives on this thread, dropout draws for each of its rows the mask one process draws for that
// row of the whole batch, and advances its Generator past the whole batch: N ranks together draw exactly one
// process's masks, and their generators stay equal (checkpoints hold one state for all ranks).
#pragma once

#include <cstdint>
#include <utility>

namespace nn {

// Rows [first, end) of share `part` when `rows` rows are cut into `parts` contiguous shares whose sizes
// differ by at most one (floor or ceil of rows / parts). The one rule for how a batch or an evaluated
// split is dealt to ranks: the loader, evaluation and the tests all use it.
inline std::pair<int64_t, int64_t> share_rows(int64_t rows, int64_t part, int64_t parts) {
  return {rows * part / parts, rows * (part + 1) / parts};
}

class BatchShard {
 public:
  BatchShard(int64_t first_row, int64_t total_rows);
  ~BatchShard();
  BatchShard(const BatchShard&) = delete;
  BatchShard& operator=(const BatchShard&) = delete;

  static const BatchShard* current();  // the innermost live one on this thread, or null
  int64_t first_row() const { return first_; }
  int64_t total_rows() const { return total_; }

 private:
  int64_t first_, total_;
  const BatchShard* previous_;
};

}  // namespace nn
