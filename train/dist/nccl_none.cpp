// NCCL in a build without CUDA (see nccl.h): every entry point says so.
#include "train/dist/nccl.h"

#include "base/error.h"

namespace nn::dist {

struct NcclGroup::Impl {};

bool NcclGroup::built() { return false; }
NcclGroup::NcclGroup(World&) { NN_FAIL("distributed: this skinnet was built without CUDA, so without NCCL"); }
NcclGroup::~NcclGroup() = default;
std::string NcclGroup::version() const { return "none"; }
void NcclGroup::start_all_reduce_sum(void*, int64_t, DType) { NN_FAIL("distributed: built without NCCL"); }
void NcclGroup::wait() {}

}  // namespace nn::dist
