// Restricted pickle reader and protocol-2 writer.
#include "serialization/pickle.h"

#include <bit>
#include <unordered_map>

#include "serialization/limits.h"

namespace mq::serialization {

namespace {
// Opcodes (pickletools names).
enum : uint8_t {
  MARK = '(',
  STOP = '.',
  POP = '0',
  POP_MARK = '1',
  BININT = 'J',
  BININT1 = 'K',
  BININT2 = 'M',
  NONE = 'N',
  BINPERSID = 'Q',
  REDUCE = 'R',
  BINUNICODE = 'X',
  SHORT_BINUNICODE = 0x8c,
  SHORT_BINSTRING = 'U',
  BINSTRING = 'T',
  APPEND = 'a',
  BUILD = 'b',
  GLOBAL = 'c',
  DICT = 'd',
  EMPTY_DICT = '}',
  APPENDS = 'e',
  BINGET = 'h',
  LONG_BINGET = 'j',
  LIST = 'l',
  EMPTY_LIST = ']',
  BINPUT = 'q',
  LONG_BINPUT = 'r',
  SETITEM = 's',
  TUPLE = 't',
  EMPTY_TUPLE = ')',
  SETITEMS = 'u',
  BINFLOAT = 'G',
  PROTO = 0x80,
  NEWOBJ = 0x81,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  SHORT_BINBYTES = 'C',
  BINBYTES = 'B',
};

// True when the object graph under `root` has a cycle (iterative DFS).
bool has_cycle(const PyRef& root) {
  std::unordered_map<const PyObject*, int> color;  // 1 = on the path, 2 = done
  std::vector<std::pair<const PyObject*, size_t>> path{{root.get(), 0}};
  color[root.get()] = 1;
  auto child = [](const PyObject* o, size_t i) -> const PyObject* {
    if (i < o->items.size()) return o->items[i].get();
    i -= o->items.size();
    if (i < 2 * o->dict.size()) return (i % 2 ? o->dict[i / 2].second : o->dict[i / 2].first).get();
    i -= 2 * o->dict.size();
    return i == 0 ? o->state.get() : nullptr;
  };
  while (!path.empty()) {
    auto& [o, i] = path.back();
    size_t total = o->items.size() + 2 * o->dict.size() + 1;
    if (i >= total) {
      color[o] = 2;
      path.pop_back();
      continue;
    }
    const PyObject* c = child(o, i++);
    if (!c) continue;
    int& col = color[c];
    if (col == 1) return true;
    if (col == 0) {
      col = 1;
      path.emplace_back(c, 0);
    }
  }
  return false;
}
}  // namespace

PyObject::~PyObject() {
  std::vector<PyRef> pending;
  auto take = [&](PyObject& o) {
    for (auto& c : o.items) pending.push_back(std::move(c));
    for (auto& [k, v] : o.dict) {
      pending.push_back(std::move(k));
      pending.push_back(std::move(v));
    }
    if (o.state) pending.push_back(std::move(o.state));
    o.items.clear();
    o.dict.clear();
  };
  take(*this);
  while (!pending.empty()) {
    PyRef p = std::move(pending.back());
    pending.pop_back();
    if (p && p.use_count() == 1) take(*p);
  }
}

std::string PyObject::describe() const {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::global: return "global " + s + "." + name;
    case Kind::call: return "call of " + (items.empty() || !items[0] ? "?" : items[0]->describe());
    case Kind::persistent_id: return "persistent id";
  }
  return "?";
}

PyRef read_pickle(std::span<const std::byte> bytes, const std::string& file,
                  const std::set<std::string>& allowed_globals) {
  ByteReader r(bytes, file);
  std::vector<PyRef> stack;
  std::vector<size_t> marks;
  std::unordered_map<uint32_t, PyRef> memo;
  std::vector<PyRef> all;  // every object made, to break reference cycles on failure
  size_t pushes = 0;       // objects made plus references pushed (what containers can hold)
  auto err = [&](const auto&... a) -> void { r.error("data.pkl", "at offset ", r.position(), ": ", a...); };
  auto count = [&] {
    if (++pushes > limits::kMaxPickleObjects) err("more than ", limits::kMaxPickleObjects, " objects");
  };
  // A container's depth after `child` went into it.
  auto nest = [&](PyObject& parent, const PyRef& child) {
    if (child && child->depth + 1 > parent.depth) parent.depth = child->depth + 1;
    if (parent.depth > limits::kMaxPickleDepth)
      err("objects nested deeper than ", limits::kMaxPickleDepth, " levels");
  };
  auto make = [&](PyObject::Kind k) {
    count();
    auto p = std::make_shared<PyObject>();
    p->kind = k;
    all.push_back(p);
    return p;
  };
  auto break_cycles = [&] {
    for (auto& o : all) {
      o->items.clear();
      o->dict.clear();
      o->state.reset();
    }
  };
  auto pop = [&]() {
    if (stack.size() <= (marks.empty() ? 0 : marks.back())) err("stack underflow");
    PyRef p = std::move(stack.back());
    stack.pop_back();
    return p;
  };
  auto top = [&]() -> PyObject& {
    if (stack.size() <= (marks.empty() ? 0 : marks.back())) err("stack underflow");
    return *stack.back();
  };
  auto pop_mark = [&]() {
    if (marks.empty()) err("no MARK on the stack");
    size_t m = marks.back();
    marks.pop_back();
    std::vector<PyRef> items(std::make_move_iterator(stack.begin() + long(m)),
                             std::make_move_iterator(stack.end()));
    stack.resize(m);
    return items;
  };
  auto push_tuple = [&](std::vector<PyRef> items) {
    auto t = make(PyObject::Kind::tuple);
    for (auto& it : items) nest(*t, it);
    t->items = std::move(items);
    stack.push_back(std::move(t));
  };
  auto line = [&](const char* field) {
    std::string s;
    for (;;) {
      char c = char(r.u8(field));
      if (c == '\n') return s;
      if (s.size() > 256) err("overlong ", field);
      s += c;
    }
  };
  auto add_to_dict = [&](PyObject& d, std::vector<PyRef>& kv) {
    if (d.kind != PyObject::Kind::dict) err("SETITEM(S) on a ", d.describe());
    if (kv.size() % 2) err("SETITEMS with an odd number of items");
    for (size_t i = 0; i < kv.size(); i += 2) {
      nest(d, kv[i]);
      nest(d, kv[i + 1]);
      d.dict.emplace_back(kv[i], kv[i + 1]);
    }
  };
  auto string_of = [&](size_t n, PyObject::Kind k) {
    auto s = r.take(n, "data.pkl string");
    auto o = make(k);
    o->s.assign(reinterpret_cast<const char*>(s.data()), n);
    stack.push_back(std::move(o));
  };

  try {
    for (;;) {
      uint8_t code = r.u8("data.pkl opcode");
      switch (code) {
        case PROTO: {
          uint8_t v = r.u8("data.pkl protocol");
          if (v > 5) err("unsupported pickle protocol ", int(v));
          break;
        }
        case STOP: {
          if (stack.size() != 1 || !marks.empty()) err("STOP with ", stack.size(), " objects on the stack");
          if (has_cycle(stack.back())) err("the object graph has a reference cycle");
          return stack.back();
        }
        case MARK: marks.push_back(stack.size()); break;
        case POP: pop(); break;
        case POP_MARK: pop_mark(); break;
        case NONE: stack.push_back(make(PyObject::Kind::none)); break;
        case NEWTRUE:
        case NEWFALSE: {
          auto o = make(PyObject::Kind::boolean);
          o->b = code == NEWTRUE;
          stack.push_back(o);
          break;
        }
        case BININT1:
        case BININT2:
        case BININT: {
          auto o = make(PyObject::Kind::integer);
          o->i = code == BININT1 ? r.u8("int") : code == BININT2 ? r.u16("int") : int64_t(int32_t(r.u32("int")));
          stack.push_back(o);
          break;
        }
        case LONG1: {
          uint8_t n = r.u8("long length");
          if (n > 8) err("integer of ", int(n), " bytes is too large");
          auto b = r.take(n, "long");
          uint64_t v = 0;
          for (size_t k = 0; k < n; ++k) v |= uint64_t(uint8_t(b[k])) << (8 * k);
          if (n > 0 && n < 8 && (uint8_t(b[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
          auto o = make(PyObject::Kind::integer);
          o->i = int64_t(v);
          stack.push_back(o);
          break;
        }
        case BINFLOAT: {
          uint64_t be = r.u64("float");
          auto o = make(PyObject::Kind::floating);
          o->f = std::bit_cast<double>(__builtin_bswap64(be));
          stack.push_back(o);
          break;
        }
        case BINUNICODE: string_of(r.u32("string length"), PyObject::Kind::string); break;
        case SHORT_BINUNICODE: string_of(r.u8("string length"), PyObject::Kind::string); break;
        case SHORT_BINSTRING: string_of(r.u8("string length"), PyObject::Kind::string); break;
        case BINSTRING: string_of(r.u32("string length"), PyObject::Kind::string); break;
        case SHORT_BINBYTES: string_of(r.u8("bytes length"), PyObject::Kind::bytes); break;
        case BINBYTES: string_of(r.u32("bytes length"), PyObject::Kind::bytes); break;
        case EMPTY_TUPLE: push_tuple({}); break;
        case TUPLE: push_tuple(pop_mark()); break;
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
          size_t n = code - TUPLE1 + 1;
          std::vector<PyRef> items(n);
          for (size_t k = n; k-- > 0;) items[k] = pop();
          push_tuple(std::move(items));
          break;
        }
        case EMPTY_LIST: stack.push_back(make(PyObject::Kind::list)); break;
        case LIST: {
          auto l = make(PyObject::Kind::list);
          l->items = pop_mark();
          for (auto& it : l->items) nest(*l, it);
          stack.push_back(l);
          break;
        }
        case EMPTY_DICT: stack.push_back(make(PyObject::Kind::dict)); break;
        case DICT: {
          auto kv = pop_mark();
          auto d = make(PyObject::Kind::dict);
          add_to_dict(*d, kv);
          stack.push_back(d);
          break;
        }
        case APPEND: {
          PyRef v = pop();
          PyObject& l = top();
          if (l.kind != PyObject::Kind::list) err("APPEND to a ", l.describe());
          nest(l, v);
          l.items.push_back(std::move(v));
          break;
        }
        case APPENDS: {
          auto items = pop_mark();
          PyObject& l = top();
          if (l.kind != PyObject::Kind::list) err("APPENDS to a ", l.describe());
          for (auto& it : items) {
            nest(l, it);
            l.items.push_back(std::move(it));
          }
          break;
        }
        case SETITEM: {
          std::vector<PyRef> kv(2);
          kv[1] = pop();
          kv[0] = pop();
          add_to_dict(top(), kv);
          break;
        }
        case SETITEMS: {
          auto kv = pop_mark();
          add_to_dict(top(), kv);
          break;
        }
        case GLOBAL: {
          std::string module = line("global module");
          std::string name = line("global name");
          if (!allowed_globals.count(module + "." + name))
            err("global '", printable(module + "." + name),
                "' is not allowed (only known torch globals are; nothing is executed)");
          auto g = make(PyObject::Kind::global);
          g->s = module;
          g->name = name;
          stack.push_back(g);
          break;
        }
        case REDUCE:
        case NEWOBJ: {
          PyRef args = pop();
          PyRef callable = pop();
          if (args->kind != PyObject::Kind::tuple)
            err("REDUCE arguments are a ", args->describe(), ", not a tuple");
          if (callable->kind != PyObject::Kind::global) err("REDUCE of a ", callable->describe());
          if (callable->is_global("collections", "OrderedDict") && args->items.empty()) {
            stack.push_back(make(PyObject::Kind::dict));
            break;
          }
          auto c = make(PyObject::Kind::call);
          nest(*c, args);
          c->items = {callable, args};
          stack.push_back(c);
          break;
        }
        case BUILD: {
          PyRef st = pop();
          nest(top(), st);
          top().state = std::move(st);
          break;
        }
        case BINPERSID: {
          auto p = make(PyObject::Kind::persistent_id);
          p->items = {pop()};
          nest(*p, p->items[0]);
          stack.push_back(p);
          break;
        }
        case BINPUT:
        case LONG_BINPUT: {
          uint32_t k = code == BINPUT ? r.u8("memo index") : r.u32("memo index");
          if (memo.size() >= limits::kMaxPickleMemo && !memo.count(k)) err("too many memo entries");
          memo[k] = stack.empty() ? nullptr : stack.back();
          if (!memo[k]) err("BINPUT on an empty stack");
          break;
        }
        case BINGET:
        case LONG_BINGET: {
          uint32_t k = code == BINGET ? r.u8("memo index") : r.u32("memo index");
          auto it = memo.find(k);
          if (it == memo.end()) err("memo index ", k, " was never stored");
          count();
          stack.push_back(it->second);
          break;
        }
        default: err("opcode 0x", std::hex, int(code), " is not allowed");
      }
    }
  } catch (...) {
    stack.clear();
    memo.clear();
    break_cycles();
    throw;
  }
}

void PickleWriter::proto() {
  op(PROTO);
  op(2);
}
void PickleWriter::global(std::string_view module, std::string_view name) {
  op(GLOBAL);
  out_.write(module);
  out_.write("\n");
  out_.write(name);
  out_.write("\n");
}
void PickleWriter::mark() { op(MARK); }
void PickleWriter::tuple() { op(TUPLE); }
void PickleWriter::empty_tuple() { op(EMPTY_TUPLE); }
void PickleWriter::tuple_n(size_t n) {
  if (n == 0) return op(EMPTY_TUPLE);
  if (n <= 3) return op(uint8_t(TUPLE1 + n - 1));
  fail<Error>("pickle writer: tuple_n(", n, "): use mark() + tuple()");
}
void PickleWriter::empty_dict() { op(EMPTY_DICT); }
void PickleWriter::empty_list() { op(EMPTY_LIST); }
void PickleWriter::reduce() { op(REDUCE); }
void PickleWriter::build() { op(BUILD); }
void PickleWriter::persid() { op(BINPERSID); }
void PickleWriter::setitems() { op(SETITEMS); }
void PickleWriter::appends() { op(APPENDS); }
void PickleWriter::none() { op(NONE); }
void PickleWriter::boolean(bool v) { op(v ? NEWTRUE : NEWFALSE); }
void PickleWriter::integer(int64_t v) {
  if (v >= 0 && v < 256) {
    op(BININT1);
    op(uint8_t(v));
  } else if (v >= 0 && v < 65536) {
    op(BININT2);
    out_.write_le<uint16_t>(uint16_t(v));
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    op(BININT);
    out_.write_le<int32_t>(int32_t(v));
  } else {
    op(LONG1);
    op(8);
    out_.write_le<int64_t>(v);
  }
}
void PickleWriter::floating(double v) {
  op(BINFLOAT);
  out_.write_le<uint64_t>(__builtin_bswap64(std::bit_cast<uint64_t>(v)));
}
void PickleWriter::string(std::string_view s) {
  if (s.size() > 0xFFFFFFFFull) fail<InvalidArgument>("pickle writer: string too long");
  op(BINUNICODE);
  out_.write_le<uint32_t>(uint32_t(s.size()));
  out_.write(s);
}
void PickleWriter::stop() { op(STOP); }

}  // namespace mq::serialization
