#pragma once
/// Typed node attributes; a wrong type or a missing required attribute is an error naming it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "ir/tensor.h"

namespace mq {

class Graph;

/// A graph-valued attribute (the body of If, Loop, Scan). The subgraph is self-contained:
/// values it reads from enclosing graphs are its trailing inputs, fed from the node's
/// trailing operands (see ir/ops/control_flow.h). Copies share the graph; Graph::clone()
/// copies it deeply. Two subgraph attributes are equal when their graphs are the same
/// structure (same_structure in ir/graph.h).
using GraphRef = std::shared_ptr<Graph>;

/// One attribute value.
using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, Tensor, GraphRef>;

/// Name of the type held by an AttrValue ("int", "floats", ...).
const char* attr_type_name(const AttrValue& v);

/// A node's attributes, sorted by name.
class Attributes {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  void erase(const std::string& name) { values_.erase(name); }
  const std::map<std::string, AttrValue>& all() const { return values_; }

  /// Typed getters: the `_or` forms return `def` when absent; the others throw when absent.
  /// Both throw when the attribute holds another type.
  int64_t get_int(const std::string& name) const;
  int64_t get_int_or(const std::string& name, int64_t def) const;
  float get_float(const std::string& name) const;
  float get_float_or(const std::string& name, float def) const;
  std::string get_string(const std::string& name) const;
  std::string get_string_or(const std::string& name, const std::string& def) const;
  std::vector<int64_t> get_ints(const std::string& name) const;
  std::vector<int64_t> get_ints_or(const std::string& name, std::vector<int64_t> def) const;
  std::vector<float> get_floats(const std::string& name) const;
  std::vector<float> get_floats_or(const std::string& name, std::vector<float> def) const;
  std::vector<std::string> get_strings_or(const std::string& name, std::vector<std::string> def) const;
  const Tensor& get_tensor(const std::string& name) const;
  /// The subgraph held by a graph attribute (never null; throws when absent or null).
  Graph& get_graph(const std::string& name) const;
  /// The names of the graph-valued attributes, sorted.
  std::vector<std::string> graph_names() const;

  bool operator==(const Attributes& o) const;

 private:
  template <class T>
  const T& get(const std::string& name, const char* type) const;
  std::map<std::string, AttrValue> values_;
};

}  // namespace mq
