#include "ir/attributes.h"

#include "ir/graph.h"

namespace mq {

const char* attr_type_name(const AttrValue& v) {
  static const char* names[] = {"int", "float", "string", "ints", "floats", "strings", "tensor", "graph"};
  return names[v.index()];
}

template <class T>
const T& Attributes::get(const std::string& name, const char* type) const {
  auto it = values_.find(name);
  if (it == values_.end()) fail<InvalidArgument>("attribute '", name, "' is required");
  if (auto* p = std::get_if<T>(&it->second)) return *p;
  fail<InvalidArgument>("attribute '", name, "' must be of type ", type, ", not ", attr_type_name(it->second));
}

int64_t Attributes::get_int(const std::string& n) const { return get<int64_t>(n, "int"); }
int64_t Attributes::get_int_or(const std::string& n, int64_t d) const { return has(n) ? get_int(n) : d; }
float Attributes::get_float(const std::string& n) const {
  // An integer attribute where a float is expected is accepted (exporters do write these).
  auto it = values_.find(n);
  if (it != values_.end())
    if (auto* p = std::get_if<int64_t>(&it->second)) return float(*p);
  return get<float>(n, "float");
}
float Attributes::get_float_or(const std::string& n, float d) const { return has(n) ? get_float(n) : d; }
std::string Attributes::get_string(const std::string& n) const { return get<std::string>(n, "string"); }
std::string Attributes::get_string_or(const std::string& n, const std::string& d) const {
  return has(n) ? get_string(n) : d;
}
std::vector<int64_t> Attributes::get_ints(const std::string& n) const {
  return get<std::vector<int64_t>>(n, "ints");
}
std::vector<int64_t> Attributes::get_ints_or(const std::string& n, std::vector<int64_t> d) const {
  return has(n) ? get_ints(n) : d;
}
std::vector<float> Attributes::get_floats(const std::string& n) const {
  return get<std::vector<float>>(n, "floats");
}
std::vector<float> Attributes::get_floats_or(const std::string& n, std::vector<float> d) const {
  return has(n) ? get_floats(n) : d;
}
std::vector<std::string> Attributes::get_strings_or(const std::string& n, std::vector<std::string> d) const {
  return has(n) ? get<std::vector<std::string>>(n, "strings") : d;
}
const Tensor& Attributes::get_tensor(const std::string& n) const { return get<Tensor>(n, "tensor"); }

Graph& Attributes::get_graph(const std::string& n) const {
  const GraphRef& g = get<GraphRef>(n, "graph");
  if (!g) fail<InvalidArgument>("attribute '", n, "' holds no graph");
  return *g;
}

std::vector<std::string> Attributes::graph_names() const {
  std::vector<std::string> r;
  for (auto& [k, v] : values_)
    if (std::holds_alternative<GraphRef>(v)) r.push_back(k);
  return r;
}

bool Attributes::operator==(const Attributes& o) const {
  if (values_.size() != o.values_.size()) return false;
  for (auto a = values_.begin(), b = o.values_.begin(); a != values_.end(); ++a, ++b) {
    if (a->first != b->first || a->second.index() != b->second.index()) return false;
    if (auto* g = std::get_if<GraphRef>(&a->second)) {
      const GraphRef& h = std::get<GraphRef>(b->second);
      if (bool(*g) != bool(h) || (*g && !same_structure(**g, *h))) return false;
    } else if (a->second != b->second) {
      return false;
    }
  }
  return true;
}

}  // namespace mq
