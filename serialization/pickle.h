#pragma once
/// Python pickle, protocol 2, as torch.save uses it. The writer emits only the opcodes that
/// torch.load(weights_only=True) accepts. The reader is restricted: it builds a tree of
/// objects, resolves only the globals it is given, never calls anything, and checks every
/// length against the bytes it has; unknown opcodes and globals are FormatErrors.
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "serialization/io.h"

namespace mq::serialization {

struct PyObject;
using PyRef = std::shared_ptr<PyObject>;

/// One unpickled object. Calls (REDUCE / NEWOBJ) are kept as data, not executed.
struct PyObject {
  enum class Kind {
    none,
    boolean,
    integer,
    floating,
    string,
    bytes,
    tuple,
    list,
    dict,
    global,
    call,
    persistent_id
  };
  Kind kind = Kind::none;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                              ///< string / bytes; module for globals
  std::string name;                           ///< a global's name
  std::vector<PyRef> items;                   ///< tuple / list items; call: [callable, args]; pid: [id]
  std::vector<std::pair<PyRef, PyRef>> dict;  ///< dict entries in insertion order
  PyRef state;                                ///< BUILD state, if any
  size_t depth = 0;                           ///< nesting depth of containers below (reader's bound)

  PyObject() = default;
  PyObject(const PyObject&) = delete;
  PyObject& operator=(const PyObject&) = delete;
  ~PyObject();  ///< iterative, so deeply nested trees cannot overflow the stack

  bool is_global(std::string_view module, std::string_view n) const {
    return kind == Kind::global && s == module && name == n;
  }
  /// "int", "tuple", "global torch.FloatStorage", ... for error messages.
  std::string describe() const;
};

/// Parses a pickle. Only `allowed_globals` ("module.name") may appear; a REDUCE of
/// collections.OrderedDict with no arguments becomes a dict. FormatError "<file>: <field>: ..."
/// on anything else (unknown opcode or global, truncation, stack underflow, bad memo index)
/// and on pickles past the limits of serialization/limits.h (depth, objects, memo entries).
PyRef read_pickle(std::span<const std::byte> bytes, const std::string& file,
                  const std::set<std::string>& allowed_globals);

/// Emits protocol 2 opcodes (restricted to those torch.load(weights_only=True) accepts).
class PickleWriter {
 public:
  explicit PickleWriter(ByteSink& out) : out_(out) {}
  void proto();                                                 ///< PROTO 2
  void global(std::string_view module, std::string_view name);  ///< GLOBAL
  void mark();                                                  ///< MARK
  void tuple();                                                 ///< TUPLE (items since MARK)
  void tuple_n(size_t n);                                       ///< EMPTY_TUPLE / TUPLE1..3 (or MARK-less TUPLE)
  void empty_tuple();
  void empty_dict();
  void empty_list();
  void reduce();    ///< REDUCE
  void build();     ///< BUILD
  void persid();    ///< BINPERSID
  void setitems();  ///< SETITEMS (pairs since MARK)
  void appends();   ///< APPENDS
  void none();
  void boolean(bool v);
  void integer(int64_t v);          ///< BININT1 / BININT2 / BININT / LONG1
  void floating(double v);          ///< BINFLOAT (big-endian)
  void string(std::string_view s);  ///< BINUNICODE
  void stop();                      ///< STOP

 private:
  void op(uint8_t c) { out_.write(&c, 1); }
  ByteSink& out_;
};

}  // namespace mq::serialization
