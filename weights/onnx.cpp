// ONNX export (see onnx.h): the graph builder that modules write into, and the protobuf encoding.
#include "weights/onnx.h"

#include <cstring>
#include <set>
#include <string_view>

#include "base/atomic_file.h"
#include "base/error.h"
#include "layers/export.h"

namespace nn {

namespace {

// --- protobuf, the little we need: a message is a sequence of fields, each a key (field number << 3 | wire
// type) and a value. Wire type 0: a varint (int64, enums); 2: length-delimited (strings, bytes, nested
// messages, packed arrays); 5: 32-bit (float). Varints are little-endian base 128, the high bit meaning
// "more bytes follow"; a negative int64 takes ten bytes (its two's complement).
class Proto {
 public:
  Proto& varint(int field, int64_t value) {
    key(field, 0);
    put_varint(static_cast<uint64_t>(value));
    return *this;
  }
  Proto& bytes(int field, std::string_view value) {
    key(field, 2);
    put_varint(value.size());
    out_.append(value);
    return *this;
  }
  Proto& message(int field, const Proto& m) { return bytes(field, m.out_); }
  // The key and length of a length-delimited field whose `size` bytes the caller writes next, elsewhere.
  Proto& bytes_header(int field, size_t size) {
    key(field, 2);
    put_varint(size);
    return *this;
  }
  Proto& f32(int field, float value) {
    key(field, 5);
    char b[4];
    std::memcpy(b, &value, 4);  // little-endian on every machine skinnet builds for
    out_.append(b, 4);
    return *this;
  }
  Proto& raw(const Proto& m) {  // m's fields appended to this message's
    out_.append(m.out_);
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  void key(int field, int wire_type) { put_varint(static_cast<uint64_t>(field) << 3 | wire_type); }
  void put_varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

// Field numbers of onnx.proto (ONNX 1.12).
namespace field {
constexpr int model_ir_version = 1, model_producer_name = 2, model_producer_version = 3, model_graph = 7,
              model_opset_import = 8, model_metadata_props = 14;
constexpr int opset_version = 2;
constexpr int entry_key = 1, entry_value = 2;
constexpr int graph_node = 1, graph_name = 2, graph_initializer = 5, graph_input = 11, graph_output = 12;
constexpr int node_input = 1, node_output = 2, node_name = 3, node_op_type = 4, node_attribute = 5;
constexpr int attr_name = 1, attr_f = 2, attr_i = 3, attr_s = 4, attr_floats = 7, attr_ints = 8, attr_type = 20;
constexpr int tensor_dims = 1, tensor_data_type = 2, tensor_name = 8, tensor_raw_data = 9;
constexpr int value_name = 1, value_type = 2;
constexpr int type_tensor = 1, type_tensor_elem_type = 1, type_tensor_shape = 2;
constexpr int shape_dim = 1, dim_value = 1, dim_param = 2;
}  // namespace field
// AttributeProto.AttributeType and TensorProto.DataType values.
constexpr int kAttrFloat = 1, kAttrInt = 2, kAttrString = 3, kAttrFloats = 6, kAttrInts = 7;
constexpr int kFloat32 = 1;

Proto attribute_proto(const Attribute& a) {
  Proto p;
  p.bytes(field::attr_name, a.name);
  if (const auto* i = std::get_if<int64_t>(&a.value)) {
    p.varint(field::attr_i, *i).varint(field::attr_type, kAttrInt);
  } else if (const auto* f = std::get_if<float>(&a.value)) {
    p.f32(field::attr_f, *f).varint(field::attr_type, kAttrFloat);
  } else if (const auto* s = std::get_if<std::string>(&a.value)) {
    p.bytes(field::attr_s, *s).varint(field::attr_type, kAttrString);
  } else if (const auto* is = std::get_if<std::vector<int64_t>>(&a.value)) {
    for (int64_t v : *is) p.varint(field::attr_ints, v);  // unpacked: every protobuf reader takes it
    p.varint(field::attr_type, kAttrInts);
  } else {
    for (float v : std::get<std::vector<float>>(a.value)) p.f32(field::attr_floats, v);
    p.varint(field::attr_type, kAttrFloats);
  }
  return p;
}

// ValueInfoProto of a float32 tensor; with `dynamic_batch` the first dimension is the symbol "N".
Proto value_info(const std::string& name, const Shape& shape, bool dynamic_batch) {
  Proto dims;
  for (int d = 0; d < shape.size(); ++d) {
    Proto dim;
    if (d == 0 && dynamic_batch) dim.bytes(field::dim_param, "N");
    else dim.varint(field::dim_value, shape[d]);
    dims.message(field::shape_dim, dim);
  }
  Proto tensor;
  tensor.varint(field::type_tensor_elem_type, kFloat32).message(field::type_tensor_shape, dims);
  Proto type;
  type.message(field::type_tensor, tensor);
  Proto v;
  v.bytes(field::value_name, name).message(field::value_type, type);
  return v;
}

struct OnnxNode {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  std::vector<Attribute> attributes;
};

// Collects what the modules write: nodes in order, initializers by name.
class OnnxGraph final : public GraphBuilder {
 public:
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<Attribute>& attributes) override {
    const std::string name = unique(path().empty() ? op : path());
    nodes.push_back({op, name, inputs, {name}, attributes});
    return name;
  }

  std::string constant(const std::string& key, const Tensor& value) override {
    const std::string name = unique(path_to(key));
    const Tensor t = value.detach().to(Device::cpu()).to(DType::f32).contiguous();  // written at the end, as it is then
    initializers.push_back({name, t});
    parameters += t.numel();
    return name;
  }

  struct Initializer {
    std::string name;
    Tensor value;  // float32, contiguous, on the CPU
  };
  std::vector<OnnxNode> nodes;
  std::vector<Initializer> initializers;
  int64_t parameters = 0;

 private:
  std::string unique(const std::string& name) {
    std::string n = name;
    for (int i = 2; !used_.insert(n).second; ++i) n = fmt::format("{}_{}", name, i);
    return n;
  }
  std::set<std::string> used_{"input", "logits"};
};

}  // namespace

OnnxExportSummary export_onnx(const Module& model, const OnnxExportOptions& o, const std::string& path) {
  NN_CHECK(o.batch >= 0 && o.height > 0 && o.width > 0, "ONNX export: batch {} and input {}x{} must be positive",
           o.batch, o.height, o.width);
  const bool dynamic = o.batch == 0;
  const Shape input_shape{dynamic ? 1 : o.batch, 3, o.height, o.width};
  OnnxGraph g;
  g.fold_batch_norm = o.fold_batch_norm;
  const GraphValue out = model.export_graph(g, {"input", input_shape});
  NN_CHECK(!g.nodes.empty() && out.name == g.nodes.back().name,
           "ONNX export: the model's output is not computed by its last operator");
  g.nodes.back().outputs = {"logits"};  // nothing reads the last node's output, so it can be renamed

  OnnxExportSummary summary;
  Proto graph;
  for (const OnnxNode& n : g.nodes) {
    Proto p;
    for (const auto& i : n.inputs) p.bytes(field::node_input, i);
    for (const auto& i : n.outputs) p.bytes(field::node_output, i);
    p.bytes(field::node_name, n.name).bytes(field::node_op_type, n.op);
    for (const Attribute& a : n.attributes) p.message(field::node_attribute, attribute_proto(a));
    graph.message(field::graph_node, p);
    ++summary.ops[n.op];
  }
  graph.bytes(field::graph_name, "skinnet");
  // The initializers, streamed: each TensorProto is its small header (dims, type, name) then raw_data, the
  // floats little-endian, written straight from the tensor. Here only their headers are built.
  std::vector<std::pair<Proto, size_t>> headers;  // (GraphProto.initializer key + length + TensorProto header, bytes)
  size_t graph_size = graph.str().size();
  for (const auto& [name, t] : g.initializers) {
    const size_t bytes = static_cast<size_t>(t.numel()) * sizeof(float);
    Proto tensor;
    for (int64_t d : t.shape()) tensor.varint(field::tensor_dims, d);
    tensor.varint(field::tensor_data_type, kFloat32).bytes(field::tensor_name, name).bytes_header(field::tensor_raw_data, bytes);
    Proto header;
    header.bytes_header(field::graph_initializer, tensor.str().size() + bytes);
    header.raw(tensor);
    graph_size += header.str().size() + bytes;
    headers.emplace_back(header, bytes);
  }
  Proto tail;
  tail.message(field::graph_input, value_info("input", input_shape, dynamic));
  tail.message(field::graph_output, value_info("logits", out.shape, dynamic));
  graph_size += tail.str().size();

  Proto head;
  head.varint(field::model_ir_version, kOnnxIrVersion)
      .bytes(field::model_producer_name, "skinnet")
      .bytes(field::model_producer_version, o.producer_version);
  Proto opset;
  opset.varint(field::opset_version, kOnnxOpset);  // domain left out: the default ("ai.onnx")
  head.message(field::model_opset_import, opset);
  for (const auto& [k, v] : o.metadata) {
    Proto e;
    e.bytes(field::entry_key, k).bytes(field::entry_value, v);
    head.message(field::model_metadata_props, e);
  }
  NN_CHECK(graph_size < (size_t{1} << 31) - (size_t{1} << 20),
           "ONNX export: the graph is {:.1f} GB, over protobuf's 2 GB limit", static_cast<double>(graph_size) / 1e9);
  head.bytes_header(field::model_graph, graph_size);
  write_file_atomically(path, [&](std::ostream& f) {
    auto put = [&](const std::string& b) { f.write(b.data(), static_cast<std::streamsize>(b.size())); };
    put(head.str());
    put(graph.str());
    for (size_t i = 0; i < headers.size(); ++i) {
      put(headers[i].first.str());
      f.write(reinterpret_cast<const char*>(g.initializers[i].value.data<float>()),
              static_cast<std::streamsize>(headers[i].second));
    }
    put(tail.str());
  });

  summary.nodes = static_cast<int64_t>(g.nodes.size());
  summary.initializers = static_cast<int64_t>(g.initializers.size());
  summary.parameters = g.parameters;
  summary.bytes = static_cast<int64_t>(head.str().size() + graph_size);
  summary.output = out.shape;
  return summary;
}

}  // namespace nn
