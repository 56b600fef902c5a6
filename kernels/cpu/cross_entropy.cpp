// CPU NLL loss with weights and label smoothing (see kernels/cross_entropy.h).
#include "kernels/cross_entropy.h"

#include "base/parallel.h"

namespace nn {

template <class T>
void nll_loss_forward_cpu(T* loss, T* denom, const T* logp, const int64_t* target, const T* weight, const NllParams& p) {
  const double eps = p.label_smoothing;
  double total = 0, wsum = 0;
  for (int64_t i = 0; i < p.N; ++i) {
    const int64_t t = target[i];
    if (t == p.ignore_index) continue;
    const T* row = logp + i * p.C;
    const double wt = weight ? weight[t] : 1.0;
    wsum += wt;
    total += (1.0 - eps) * wt * -static_cast<double>(row[t]);
    if (eps > 0) {
      double smooth = 0;
      for (int64_t c = 0; c < p.C; ++c) smooth += (weight ? weight[c] : 1.0) * -static_cast<double>(row[c]);
      total += eps / static_cast<double>(p.C) * smooth;
    }
  }
  *denom = static_cast<T>(wsum);
  *loss = static_cast<T>(total / wsum);
}

template <class T>
void nll_loss_backward_cpu(T* dlogp, const T* dloss, const T* denom, const int64_t* target, const T* weight,
                           const NllParams& p) {
  const double scale = -static_cast<double>(*dloss) / static_cast<double>(*denom), eps = p.label_smoothing;
  parallel_for(0, p.N, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T* row = dlogp + i * p.C;
      const int64_t t = target[i];
      if (t == p.ignore_index) {
        for (int64_t c = 0; c < p.C; ++c) row[c] = T(0);
        continue;
      }
      for (int64_t c = 0; c < p.C; ++c)
        row[c] = static_cast<T>(scale * eps / static_cast<double>(p.C) * (weight ? weight[c] : 1.0));
      row[t] += static_cast<T>(scale * (1.0 - eps) * (weight ? weight[t] : 1.0));
    }
  });
}

#define NN_INSTANTIATE(T)                                                                                    \
  template void nll_loss_forward_cpu<T>(T*, T*, const T*, const int64_t*, const T*, const NllParams&);       \
  template void nll_loss_backward_cpu<T>(T*, const T*, const T*, const int64_t*, const T*, const NllParams&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
