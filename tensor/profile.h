// Per-layer timing hooks for `skinnet profile` (layers/profile.h holds the profiler itself).
//
// While a profiler is active, Module::operator() tells this thread which layer is running; every autograd
// node created meanwhile remembers it (Node::profile_layer), and the backward engine reports how long each
// node took to the sink, so backward time is charged to the layer whose forward made the node. With no
// sink installed (always, outside `skinnet profile`) the cost is one thread-local read per node.
#pragma once

namespace nn::profile {

class Sink {
 public:
  virtual ~Sink() = default;
  // One node's backward (its apply and the accumulation of the gradients it produced) took `ms`.
  virtual void backward(int layer, double ms) = 0;
};

// The layer index whose forward is running on this thread (-1: none).
int current_layer();
void set_current_layer(int layer);
// The sink the backward engine reports to on this thread (null: no profiling).
Sink* sink();
void set_sink(Sink* sink);

}  // namespace nn::profile
