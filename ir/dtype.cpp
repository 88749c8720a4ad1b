#include "ir/dtype.h"

namespace mq {

size_t dtype_size(DType t) {
  switch (t) {
#define MQ_X(name, ctype, size) \
  case DType::name: return size;
    MQ_DTYPE_LIST(MQ_X)
#undef MQ_X
    case DType::undefined: return 0;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
#define MQ_X(name, ctype, size) \
  case DType::name: return #name;
    MQ_DTYPE_LIST(MQ_X)
#undef MQ_X
    case DType::undefined: return "undefined";
  }
  return "undefined";
}

DType dtype_from_name(std::string_view n) {
#define MQ_X(name, ctype, size) \
  if (n == #name) return DType::name;
  MQ_DTYPE_LIST(MQ_X)
#undef MQ_X
  if (n == "bool") return DType::boolean;
  return DType::undefined;
}

bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64; }

bool is_integer(DType t) {
  switch (t) {
    case DType::i8:
    case DType::u8:
    case DType::i16:
    case DType::u16:
    case DType::i32:
    case DType::u32:
    case DType::i64:
    case DType::u64: return true;
    default: return false;
  }
}

}  // namespace mq
