// Model summaries (see summary.h).
#include "layers/summary.h"

#include <map>

namespace nn {

namespace {

struct Recorder {
  std::vector<std::tuple<const Module*, Shape, Shape>> calls;
};
thread_local Recorder* t_recorder = nullptr;

int64_t own_parameters(Module& m) {
  int64_t n = 0;
  for (const auto& [name, t] : m.named_parameters())
    if (name.find('.') == std::string::npos) n += t.numel();
  return n;
}

std::string with_commas(double v) {
  std::string digits = fmt::format("{:.0f}", v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

bool summary_active() { return t_recorder != nullptr; }

void summary_record(const Module& module, const Shape& in, const Shape& out) {
  t_recorder->calls.emplace_back(&module, in, out);
}

Summary summarize(Module& model, const Shape& input) {
  std::map<const Module*, std::string> names;
  for (auto& [name, m] : model.named_modules()) names[m] = name;
  Recorder recorder;
  {
    const EvalModeGuard eval(model);
    t_recorder = &recorder;
    try {
      NoGradGuard no_grad;
      model(zeros(input));
    } catch (...) {
      t_recorder = nullptr;
      throw;
    }
    t_recorder = nullptr;
  }

  Summary s;
  s.input = input;
  for (const auto& [m, in, out] : recorder.calls) {
    Module& mod = const_cast<Module&>(*m);
    SummaryRow row{names[m], m->describe(), out, own_parameters(mod), m->flops(in, out)};
    s.flops += row.flops;
    s.rows.push_back(std::move(row));
  }
  s.params = model.num_parameters();
  s.trainable_params = model.num_parameters(Trainable::only);
  return s;
}

std::string Summary::table() const {
  size_t name_w = 5, type_w = 6;
  for (const auto& r : rows) {
    name_w = std::max(name_w, r.name.size());
    type_w = std::max(type_w, r.type.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:<20} {:>13} {:>17}\n", "layer", name_w, "module", type_w,
                                "output", "params", "FLOPs");
  for (const auto& r : rows)
    out += fmt::format("{:<{}}  {:<{}}  {:<20} {:>13} {:>17}\n", r.name, name_w, r.type, type_w, r.output.str(),
                       with_commas(static_cast<double>(r.params)), with_commas(r.flops));
  out += fmt::format("input {}: {} parameters ({} trainable), {} FLOPs per forward ({:.2f} GFLOPs)\n", input.str(),
                     with_commas(static_cast<double>(params)), with_commas(static_cast<double>(trainable_params)),
                     with_commas(flops), flops / 1e9);
  return out;
}

}  // namespace nn
