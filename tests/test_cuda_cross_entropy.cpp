// CUDA NLL loss (kernels/cuda/cross_entropy.cu) against the CPU kernels, with class weights, label
// smoothing and ignore_index: the kernels fed the same log-probabilities, then cross_entropy on CUDA
// tensors end to end (all rows ignored gives NaN; a bad label is an error that names it).
#include "kernels/cross_entropy.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

constexpr Tol kExact{0, 0};
// The forward's block reduction adds the rows' double terms in another order than the CPU's loop: far below
// a float ulp in double, so loss and denom differ by at most one rounding (2^-23 relative).
constexpr Tol kOneUlp{1.2e-7, 0};
// End to end, log_softmax on a warp per row may also differ by two ulps per element (test_cuda_softmax.cpp);
// the loss is a weighted mean of positive -logp terms, so it keeps that relative error, plus one rounding.
constexpr Tol kEndToEnd{3.6e-7, 0};

struct NllCase {
  const char* what;
  int64_t N, C;
  bool weighted;
  double smoothing;
  int64_t ignore_index = -100;
  int64_t ignore_every = 0;  // every ignore_every-th row's target is ignore_index (0: none)
};

Tensor targets_for(const NllCase& k, uint64_t seed) {
  Generator gen(seed);
  Tensor t = randint(0, k.C, {k.N}, gen);
  if (k.ignore_every > 0)
    for (int64_t i = 0; i < k.N; i += k.ignore_every) t.data<int64_t>()[i] = k.ignore_index;
  return t;
}

void check_nll(const std::vector<NllCase>& cases) {
  uint64_t seed = 51;
  for (const NllCase& k : cases) {
    const NllParams p{k.N, k.C, k.smoothing, k.ignore_index};
    const Tensor logits = test_input({k.N, k.C}, seed++, -3, 3, DType::f32);
    const Tensor logp = log_softmax(logits, 1), target = targets_for(k, seed++);
    const Tensor weight = k.weighted ? test_input({k.C}, seed++, 0.2, 2, DType::f32) : Tensor();
    const float* w = k.weighted ? weight.data<float>() : nullptr;
    const Tensor loss = empty(Shape{}), denom = empty(Shape{}), dloss = full(Shape{}, 0.75), dlogp = empty({k.N, k.C});
    nll_loss_forward_cpu<float>(loss.data<float>(), denom.data<float>(), logp.data<float>(), target.data<int64_t>(),
                                w, p);
    nll_loss_backward_cpu<float>(dlogp.data<float>(), dloss.data<float>(), denom.data<float>(),
                                 target.data<int64_t>(), w, p);
    CrossEntropyOptions o{.weight = weight, .label_smoothing = k.smoothing, .ignore_index = k.ignore_index};
    const Tensor want_op = cross_entropy(logits, target, o);

    const Tensor clogits = to_cuda(logits), clogp = to_cuda(logp), ctarget = to_cuda(target);
    const Tensor cweight = k.weighted ? to_cuda(weight) : Tensor();
    const float* cw = k.weighted ? cweight.data<float>() : nullptr;
    const Tensor cdloss = to_cuda(dloss), cdenom = to_cuda(denom);
    CrossEntropyOptions co = o;
    co.weight = cweight;
    for_each_schedule([&] {
      INFO(k.what);
      const Tensor gloss = empty(Shape{}, DType::f32, Device::cuda()), gdenom = empty(Shape{}, DType::f32, Device::cuda());
      nll_loss_forward_cuda(gloss.data<float>(), gdenom.data<float>(), clogp.data<float>(),
                            ctarget.data<int64_t>(), cw, p);
      check_close("loss", to_cpu(gloss), loss, kOneUlp);
      check_close("denom", to_cpu(gdenom), denom, kOneUlp);
      // The backward is elementwise, the CPU's expression: exact, given the CPU's denom.
      const Tensor gdlogp = empty({k.N, k.C}, DType::f32, Device::cuda());
      nll_loss_backward_cuda(gdlogp.data<float>(), cdloss.data<float>(), cdenom.data<float>(),
                             ctarget.data<int64_t>(), cw, p);
      check_close("dlogp", to_cpu(gdlogp), dlogp, kExact);
      check_close("cross_entropy", to_cpu(cross_entropy(clogits, ctarget, co)), want_op, kEndToEnd);
    });
  }
}

}  // namespace

TEST_SUITE("cuda") {
  // Model-sized: a 7-class skin-lesion classifier at batch 32 and ImageNet at batch 256, plain, weighted,
  // smoothed (smoothing reads whole rows), with ignored rows.
  TEST_CASE("cuda cross_entropy: model-sized losses equal the CPU ([32,7], [256,1000]; weights, smoothing, ignore)") {
    check_nll({{"[32,7] plain", 32, 7, false, 0},
               {"[32,7] weighted, smoothing 0.1, every 5th row ignored", 32, 7, true, 0.1, -100, 5},
               {"[256,1000] smoothing 0.1", 256, 1000, false, 0.1},
               {"[256,1000] weighted, every 3rd row ignored (index 3)", 256, 1000, true, 0, 3, 3}});
  }

  // Awkward: one row, one class, a batch not a multiple of the block's 8 warps, ignore_index inside [0, C).
  TEST_CASE("cuda cross_entropy: awkward shapes equal the CPU (N = 1, C = 1, [37,33], ignore_index a class)") {
    check_nll({{"[1,5] weighted, smoothing 0.3", 1, 5, true, 0.3},
               {"[9,1] smoothing 0.2", 9, 1, false, 0.2},
               {"[37,33] weighted, smoothing 1, ignore_index 0", 37, 33, true, 1.0, 0, 4}});
  }

  TEST_CASE("cuda cross_entropy: all rows ignored gives NaN; a bad label is an error naming it") {
    for_each_schedule([&] {
      Generator gen(3);
      const Tensor logits = to_cuda(randn({6, 5}, gen));
      const Tensor ignored = to_cuda(full({6}, -100, DType::i64));
      const Tensor all_ignored = to_cpu(cross_entropy(logits, ignored));
      CHECK(std::isnan(all_ignored.data<float>()[0]));
      CrossEntropyOptions smoothing{.label_smoothing = 0.1};
      CHECK(std::isnan(to_cpu(cross_entropy(logits, ignored, smoothing)).data<float>()[0]));

      // Rows 3 and 5 are bad: the first one is named.
      const Tensor bad = to_cuda(from_vector<int64_t>({0, 4, -100, 7, 1, -1}, {6}));
      CHECK_THROWS_WITH_AS(cross_entropy(logits, bad), doctest::Contains("target[3] = 7 is not a class index in [0, 5)"),
                           Error);
      const Tensor negative = to_cuda(from_vector<int64_t>({0, 4, -100, 2, 1, -1}, {6}));
      CHECK_THROWS_WITH_AS(cross_entropy(logits, negative), doctest::Contains("target[5] = -1"), Error);
    });
  }
}

}  // namespace nn::test
