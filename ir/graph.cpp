#include "ir/graph.h"

#include <algorithm>
#include <sstream>
#include <unordered_set>

#include "ir/infer.h"

namespace mq {

std::string ValueType::str() const {
  std::string s = std::string(dtype_name(dtype)) + shape.str();
  if (quant) s += " {" + quant->str() + "}";
  return s;
}

std::string Node::describe() const { return "node '" + name_ + "' (" + std::string(op_name()) + ")"; }

Value* Graph::new_value(std::string name) {
  if (name.empty() || value_by_name_.count(name)) name = unique_name(name.empty() ? "v" : name);
  auto v = std::make_unique<Value>();
  v->name_ = std::move(name);
  Value* p = v.get();
  value_by_name_[p->name_] = p;
  values_.push_back(std::move(v));
  return p;
}

Value* Graph::add_input(const std::string& name, ValueType type) {
  if (value_by_name_.count(name)) fail<InvalidArgument>("duplicate value name '", name, "'");
  Value* v = new_value(name);
  v->type_ = std::move(type);
  inputs_.push_back(v);
  return v;
}

Value* Graph::add_constant(const std::string& name, Tensor data) {
  if (value_by_name_.count(name)) fail<InvalidArgument>("duplicate value name '", name, "'");
  Value* v = new_value(name);
  v->type_.dtype = data.dtype();
  v->type_.shape = data.shape();
  v->type_.quant = data.quant();
  v->constant_ = std::move(data);
  return v;
}

Node* Graph::make_node(OpKind op, NodeSpec spec) {
  auto n = std::make_unique<Node>();
  n->op_ = op;
  std::string name = spec.name;
  if (name.empty() || node_by_name_.count(name))
    name = unique_name(name.empty() ? std::string(op_name(op)) : name);
  n->name_ = name;
  n->attrs_ = std::move(spec.attrs);
  n->inputs_ = std::move(spec.inputs);
  while (!n->inputs_.empty() && n->inputs_.back() == nullptr) n->inputs_.pop_back();

  // outputs exist before inference (inference may look at how many the node has)
  size_t num_outputs = std::max(spec.num_outputs, spec.output_names.size());
  for (size_t i = 0; i < num_outputs; ++i) {
    std::string oname = i < spec.output_names.size() ? spec.output_names[i] : "";
    if (oname.empty()) oname = name + (num_outputs > 1 ? ":" + std::to_string(i) : ":out");
    Value* v = new_value(oname);
    v->producer_ = n.get();
    n->outputs_.push_back(v);
  }
  std::vector<ValueType> in_types;
  std::vector<const Tensor*> in_values;
  for (Value* v : n->inputs_) {
    in_types.push_back(v ? v->type_ : ValueType{});
    in_values.push_back(v && v->constant_ ? &*v->constant_ : nullptr);
  }
  std::vector<ValueType> out_types;
  try {
    out_types = infer_node(*n, in_types, in_values);
  } catch (...) {
    std::unordered_set<Value*> dead(n->outputs_.begin(), n->outputs_.end());
    for (Value* o : n->outputs_) value_by_name_.erase(o->name_);
    std::erase_if(values_, [&](auto& v) { return dead.count(v.get()) != 0; });
    throw;
  }
  for (size_t i = 0; i < num_outputs && i < out_types.size(); ++i) n->outputs_[i]->type_ = out_types[i];
  for (Value* v : n->inputs_)
    if (v) v->users_.push_back(n.get());
  Node* p = n.get();
  node_by_name_[name] = p;
  nodes_.push_back(std::move(n));
  return p;
}

Node* Graph::add_node(OpKind op, NodeSpec spec) { return make_node(op, std::move(spec)); }

Node* Graph::insert_node(Node* anchor, OpKind op, NodeSpec spec) {
  Node* n = make_node(op, std::move(spec));
  if (!anchor) return n;
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](auto& p) { return p.get() == anchor; });
  auto last = std::prev(nodes_.end());
  std::unique_ptr<Node> moved = std::move(*last);
  nodes_.erase(last);
  nodes_.insert(it, std::move(moved));
  return n;
}

void Graph::add_output(Value* v) { outputs_.push_back(v); }

void Graph::set_output(size_t i, Value* v) {
  if (i >= outputs_.size() || !v)
    fail<InvalidArgument>("graph output ", i, " does not exist (", outputs_.size(), " outputs)");
  outputs_[i] = v;
}

void Graph::replace_all_uses(Value* from, Value* to) {
  if (from == to) return;
  for (Node* u : from->users_) {
    for (auto& in : u->inputs_)
      if (in == from) in = to;
    to->users_.push_back(u);
  }
  // a node reading `from` twice was pushed twice; keep one entry per operand slot
  from->users_.clear();
  for (auto& o : outputs_)
    if (o == from) o = to;
}

void Graph::set_input(Node* node, size_t i, Value* v) {
  if (node->inputs_.size() <= i) node->inputs_.resize(i + 1, nullptr);
  Value* old = node->inputs_[i];
  if (old) {
    auto it = std::find(old->users_.begin(), old->users_.end(), node);
    if (it != old->users_.end()) old->users_.erase(it);
  }
  node->inputs_[i] = v;
  if (v) v->users_.push_back(node);
  while (!node->inputs_.empty() && node->inputs_.back() == nullptr) node->inputs_.pop_back();
}

void Graph::remove_node(Node* node) {
  for (Value* o : node->outputs_) {
    if (!o->users_.empty() || is_output(o))
      fail<Error>("cannot remove ", node->describe(), ": its output '", o->name_, "' is still read");
  }
  for (Value* in : node->inputs_) {
    if (!in) continue;
    auto it = std::find(in->users_.begin(), in->users_.end(), node);
    if (it != in->users_.end()) in->users_.erase(it);
  }
  std::unordered_set<Value*> dead(node->outputs_.begin(), node->outputs_.end());
  for (Value* o : node->outputs_) value_by_name_.erase(o->name_);
  std::erase_if(values_, [&](auto& v) { return dead.count(v.get()) != 0; });
  node_by_name_.erase(node->name_);
  std::erase_if(nodes_, [&](auto& n) { return n.get() == node; });
}

void Graph::erase_operand(Node* node, size_t i) {
  if (i >= node->inputs_.size()) fail<Error>(node->describe(), ": no operand ", i, " to remove");
  if (Value* old = node->inputs_[i]) {
    auto it = std::find(old->users_.begin(), old->users_.end(), node);
    if (it != old->users_.end()) old->users_.erase(it);
  }
  node->inputs_.erase(node->inputs_.begin() + std::ptrdiff_t(i));
}

void Graph::remove_input(Value* v) {
  auto it = std::find(inputs_.begin(), inputs_.end(), v);
  if (it == inputs_.end()) fail<Error>("'", v->name_, "' is not a graph input");
  if (!v->users_.empty() || is_output(v))
    fail<Error>("cannot remove graph input '", v->name_, "': it is still read");
  inputs_.erase(it);
  value_by_name_.erase(v->name_);
  std::erase_if(values_, [&](auto& p) { return p.get() == v; });
}

void Graph::rename_node(Node* node, const std::string& name) {
  if (node->name_ == name) return;
  if (node_by_name_.count(name)) fail<InvalidArgument>("a node named '", name, "' exists already");
  node_by_name_.erase(node->name_);
  node->name_ = name;
  node_by_name_[name] = node;
}

void Graph::rename_value(Value* value, const std::string& name) {
  if (value->name_ == name) return;
  if (value_by_name_.count(name)) fail<InvalidArgument>("a value named '", name, "' exists already");
  value_by_name_.erase(value->name_);
  value->name_ = name;
  value_by_name_[name] = value;
}

void Graph::reinfer(Node* n) {
  std::vector<ValueType> in_types;
  std::vector<const Tensor*> in_values;
  for (Value* v : n->inputs_) {
    in_types.push_back(v ? v->type_ : ValueType{});
    in_values.push_back(v && v->constant_ ? &*v->constant_ : nullptr);
  }
  auto out = infer_node(*n, in_types, in_values);
  for (size_t i = 0; i < n->outputs_.size() && i < out.size(); ++i) {
    auto q = n->outputs_[i]->type_.quant;
    n->outputs_[i]->type_ = out[i];
    if (!out[i].quant) n->outputs_[i]->type_.quant = q;
  }
}

void Graph::reinfer_all() {
  for (auto& n : nodes_) reinfer(n.get());
}

void Graph::remove_unused() {
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = nodes_.size(); i-- > 0;) {
      Node* n = nodes_[i].get();
      bool used = false;
      for (Value* o : n->outputs_) used |= !o->users_.empty() || is_output(o);
      if (!used) {
        remove_node(n);
        changed = true;
      }
    }
  }
  std::unordered_set<Value*> inputs(inputs_.begin(), inputs_.end());
  std::erase_if(values_, [&](auto& v) {
    bool dead = v->constant_ && v->users_.empty() && !is_output(v.get()) && !inputs.count(v.get());
    if (dead) value_by_name_.erase(v->name_);
    return dead;
  });
}

void Graph::topo_sort() {
  std::unordered_set<const Value*> ready;
  for (auto& v : values_)
    if (!v->producer_) ready.insert(v.get());
  std::vector<std::unique_ptr<Node>> pending = std::move(nodes_);
  nodes_.clear();
  while (!pending.empty()) {
    bool progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      bool ok = std::all_of((*it)->inputs_.begin(), (*it)->inputs_.end(),
                            [&](Value* v) { return !v || ready.count(v); });
      if (ok) {
        for (Value* o : (*it)->outputs_) ready.insert(o);
        nodes_.push_back(std::move(*it));
        it = pending.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
    if (!progress) {
      std::string names;
      for (auto& p : pending) names += (names.empty() ? "" : ", ") + p->name_;
      nodes_.insert(nodes_.end(), std::make_move_iterator(pending.begin()),
                    std::make_move_iterator(pending.end()));
      fail<Error>("graph has a cycle or reads undefined values at nodes: ", names);
    }
  }
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> r;
  r.reserve(nodes_.size());
  for (auto& n : nodes_) r.push_back(n.get());
  return r;
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> r;
  r.reserve(values_.size());
  for (auto& v : values_) r.push_back(v.get());
  return r;
}

Value* Graph::find_value(const std::string& name) const {
  auto it = value_by_name_.find(name);
  return it == value_by_name_.end() ? nullptr : it->second;
}

Node* Graph::find_node(const std::string& name) const {
  auto it = node_by_name_.find(name);
  return it == node_by_name_.end() ? nullptr : it->second;
}

Value* Graph::value(const std::string& name) const {
  Value* v = find_value(name);
  if (!v) fail<InvalidArgument>("no value named '", name, "' in the graph");
  return v;
}

std::string Graph::unique_name(const std::string& base) const {
  if (!value_by_name_.count(base) && !node_by_name_.count(base)) return base;
  for (size_t i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (!value_by_name_.count(n) && !node_by_name_.count(n)) return n;
  }
}

bool Graph::is_output(const Value* v) const {
  return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end();
}

Graph Graph::clone() const {
  Graph g;
  g.name = name;
  g.opset = opset;
  g.metadata = metadata;
  std::unordered_map<const Value*, Value*> map;
  for (auto& v : values_) {
    if (v->producer_) continue;
    Value* c = g.new_value(v->name_);
    c->type_ = v->type_;
    c->constant_ = v->constant_;
    map[v.get()] = c;
  }
  for (Value* in : inputs_) g.inputs_.push_back(map.at(in));
  for (auto& n : nodes_) {
    auto c = std::make_unique<Node>();
    c->name_ = n->name_;
    c->op_ = n->op_;
    c->attrs_ = n->attrs_;
    for (const std::string& a : n->attrs_.graph_names())
      c->attrs_.set(a, std::make_shared<Graph>(n->attrs_.get_graph(a).clone()));
    for (Value* in : n->inputs_) {
      Value* m = in ? map.at(in) : nullptr;
      c->inputs_.push_back(m);
      if (m) m->users_.push_back(c.get());
    }
    for (Value* o : n->outputs_) {
      Value* m = g.new_value(o->name_);
      m->type_ = o->type_;
      m->producer_ = c.get();
      map[o] = m;
      c->outputs_.push_back(m);
    }
    g.node_by_name_[c->name_] = c.get();
    g.nodes_.push_back(std::move(c));
  }
  for (Value* o : outputs_) g.outputs_.push_back(map.at(o));
  return g;
}

namespace {
bool same_values(const std::vector<Value*>& a, const std::vector<Value*>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i] || !b[i]) {
      if (a[i] != b[i]) return false;
      continue;
    }
    // (types compared as text: an anonymous unknown dim equals no other under Dim's ==)
    if (a[i]->name() != b[i]->name() || a[i]->type().str() != b[i]->type().str()) return false;
  }
  return true;
}
}  // namespace

bool same_structure(const Graph& a, const Graph& b) {
  if (!same_values(a.inputs(), b.inputs()) || !same_values(a.outputs(), b.outputs())) return false;
  if (a.node_count() != b.node_count()) return false;
  std::vector<Value*> ca, cb;
  for (Value* v : a.values())
    if (v->is_constant()) ca.push_back(v);
  for (Value* v : b.values())
    if (v->is_constant()) cb.push_back(v);
  if (!same_values(ca, cb)) return false;
  for (size_t i = 0; i < ca.size(); ++i)
    if (!(*ca[i]->constant() == *cb[i]->constant())) return false;
  std::vector<Node*> na = a.nodes(), nb = b.nodes();
  for (size_t i = 0; i < na.size(); ++i) {
    if (na[i]->name() != nb[i]->name() || na[i]->op() != nb[i]->op() || !(na[i]->attrs() == nb[i]->attrs()))
      return false;
    if (!same_values(na[i]->inputs(), nb[i]->inputs()) || !same_values(na[i]->outputs(), nb[i]->outputs()))
      return false;
  }
  return true;
}

}  // namespace mq
