#include "importers/onnx/tensor_proto.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace mq::onnx {

namespace fs = std::filesystem;
using TP = ::onnx::TensorProto;

DType dtype_from_onnx(int32_t t) {
  switch (t) {
    case TP::FLOAT: return DType::f32;
    case TP::UINT8: return DType::u8;
    case TP::INT8: return DType::i8;
    case TP::UINT16: return DType::u16;
    case TP::INT16: return DType::i16;
    case TP::INT32: return DType::i32;
    case TP::INT64: return DType::i64;
    case TP::BOOL: return DType::boolean;
    case TP::FLOAT16: return DType::f16;
    case TP::DOUBLE: return DType::f64;
    case TP::UINT32: return DType::u32;
    case TP::UINT64: return DType::u64;
    case TP::BFLOAT16: return DType::bf16;
    default: return DType::undefined;
  }
}

int32_t dtype_to_onnx(DType t) {
  switch (t) {
    case DType::f32: return TP::FLOAT;
    case DType::u8: return TP::UINT8;
    case DType::i8: return TP::INT8;
    case DType::u16: return TP::UINT16;
    case DType::i16: return TP::INT16;
    case DType::i32: return TP::INT32;
    case DType::i64: return TP::INT64;
    case DType::boolean: return TP::BOOL;
    case DType::f16: return TP::FLOAT16;
    case DType::f64: return TP::DOUBLE;
    case DType::u32: return TP::UINT32;
    case DType::u64: return TP::UINT64;
    case DType::bf16: return TP::BFLOAT16;
    default: return TP::UNDEFINED;
  }
}

namespace {

std::string read_external(const TP& t, const std::string& base_dir, size_t expected) {
  std::string location;
  int64_t offset = 0, length = -1;
  auto number = [](const std::string& key, const std::string& v) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < 0)
      fail<FormatError>("external data ", key, " '", printable(v), "' is not a non-negative integer");
    return n;
  };
  for (auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = number(kv.key(), kv.value());
    else if (kv.key() == "length") length = number(kv.key(), kv.value());
  }
  if (location.empty()) fail<FormatError>("external data has no 'location'");
  fs::path rel(location);
  if (rel.is_absolute()) fail<FormatError>("external data location '", printable(location), "' is absolute");
  fs::path base = fs::weakly_canonical(fs::path(base_dir.empty() ? "." : base_dir));
  fs::path full = fs::weakly_canonical(base / rel);
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end())
    fail<FormatError>("external data location '", printable(location), "' escapes the model's folder");
  std::error_code ec;
  if (!fs::is_regular_file(full, ec))  // a FIFO or a device would block or never end
    fail<FormatError>("external data '", printable(location), "' is not a regular file");
  std::ifstream in(full, std::ios::binary);
  if (!in) fail<FormatError>("cannot open external data file '", full.string(), "'");
  in.seekg(0, std::ios::end);
  int64_t size = in.tellg();
  if (offset < 0 || offset > size)
    fail<FormatError>("external data offset ", offset, " is outside '", location, "'");
  if (length < 0) length = size - offset;
  if (length != int64_t(expected) || offset + length > size)
    fail<FormatError>("external data in '", location, "' has ", length, " bytes at offset ", offset, ", expected ",
                      expected, " (file has ", size, ")");
  std::string buf(size_t(length), '\0');
  in.seekg(offset);
  in.read(buf.data(), length);
  if (!in) fail<FormatError>("cannot read external data from '", location, "'");
  return buf;
}

template <class Dst, class Src>
void copy_field(Tensor& out, const Src& field, int64_t n, const char* fname) {
  if (int64_t(field.size()) != n)
    fail<FormatError>("field '", fname, "' has ", field.size(), " values, expected ", n);
  Dst* p = static_cast<Dst*>(out.raw());
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<Dst>(field.Get(int(i)));
}

}  // namespace

Tensor tensor_from_proto(const TP& t, const std::string& base_dir) {
  return with_context("tensor '" + printable(t.name()) + "'", [&] {
    DType dt = dtype_from_onnx(t.data_type());
    if (dt == DType::undefined) fail<UnsupportedError>("data type ", t.data_type(), " is not supported");
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    uint64_t numel = 1;
    for (auto d : dims) {
      if (d < 0) fail<FormatError>("negative dimension ", d);
      if (d > 0 && numel > (uint64_t(1) << 48) / uint64_t(d)) fail<FormatError>("dims: tensor too large");
      numel *= uint64_t(d);
    }
    int64_t n = int64_t(numel);
    size_t bytes = size_t(numel) * dtype_size(dt);
    // The data must be there before the tensor is allocated.
    if (t.data_location() == TP::EXTERNAL) {
      std::string buf = read_external(t, base_dir, bytes);
      Tensor out(dt, dims);
      if (bytes) std::memcpy(out.raw(), buf.data(), bytes);
      return out;
    }
    if (t.has_raw_data() && t.raw_data().size() != bytes)
      fail<FormatError>("raw_data has ", t.raw_data().size(), " bytes, expected ", bytes);
    if (!t.has_raw_data()) {
      int64_t have = dt == DType::f32                         ? t.float_data_size()
                     : dt == DType::f64                       ? t.double_data_size()
                     : dt == DType::i64                       ? t.int64_data_size()
                     : (dt == DType::u32 || dt == DType::u64) ? t.uint64_data_size()
                                                              : t.int32_data_size();
      if (have != n) fail<FormatError>("has ", have, " values, expected ", n);
    }
    Tensor out(dt, dims);
    if (t.has_raw_data()) {
      if (bytes) std::memcpy(out.raw(), t.raw_data().data(), bytes);
      return out;
    }
    switch (dt) {
      case DType::f32: copy_field<float>(out, t.float_data(), n, "float_data"); break;
      case DType::f64: copy_field<double>(out, t.double_data(), n, "double_data"); break;
      case DType::i64: copy_field<int64_t>(out, t.int64_data(), n, "int64_data"); break;
      case DType::u32: copy_field<uint32_t>(out, t.uint64_data(), n, "uint64_data"); break;
      case DType::u64: copy_field<uint64_t>(out, t.uint64_data(), n, "uint64_data"); break;
      case DType::i32: copy_field<int32_t>(out, t.int32_data(), n, "int32_data"); break;
      case DType::i16: copy_field<int16_t>(out, t.int32_data(), n, "int32_data"); break;
      case DType::u16:
      case DType::f16:
      case DType::bf16: copy_field<uint16_t>(out, t.int32_data(), n, "int32_data"); break;
      case DType::i8: copy_field<int8_t>(out, t.int32_data(), n, "int32_data"); break;
      case DType::u8: copy_field<uint8_t>(out, t.int32_data(), n, "int32_data"); break;
      case DType::boolean: copy_field<bool>(out, t.int32_data(), n, "int32_data"); break;
      default: fail<UnsupportedError>("data type ", dtype_name(dt));
    }
    return out;
  });
}

}  // namespace mq::onnx
