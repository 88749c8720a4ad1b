// ONNX TensorProto → Tensor, and Tensor → TensorProto for the exporter.
#include "serialization/onnx_tensor.h"

#include <onnx/onnx_pb.h>

#include <filesystem>

#include "serialization/io.h"
#include "serialization/onnx_util.h"

namespace mq::serialization {

namespace {
struct Code {
  int code;
  DType dtype;
};
constexpr Code kCodes[] = {{1, DType::f32},  {2, DType::u8},   {3, DType::i8},   {4, DType::u16},
                           {5, DType::i16},  {6, DType::i32},  {7, DType::i64},  {9, DType::boolean},
                           {10, DType::f16}, {11, DType::f64}, {12, DType::u32}, {13, DType::u64},
                           {16, DType::bf16}};

template <class Src>
void copy_typed(Tensor& t, const Src& src, const std::string& ctx) {
  if (int64_t(src.size()) != t.numel())
    fail<FormatError>(ctx, ": ", src.size(), " values for ", t.numel(), " elements");
  auto* dst = static_cast<std::byte*>(t.raw());
  size_t es = dtype_size(t.dtype());
  for (int i = 0; i < src.size(); ++i) {
    auto v = src.Get(i);
    // Narrow integer types (and f16/bf16 bits) are stored widened in int32_data.
    std::memcpy(dst + size_t(i) * es, &v, es);
  }
}
}  // namespace

int onnx_dtype_code(DType t) {
  for (auto& c : kCodes)
    if (c.dtype == t) return c.code;
  fail<UnsupportedError>("ONNX has no data type for ", dtype_name(t));
}

DType dtype_from_onnx_code(int code) {
  for (auto& c : kCodes)
    if (c.code == code) return c.dtype;
  fail<UnsupportedError>("ONNX data type ", code, " is not supported by monoquant");
}

namespace detail {
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  p->set_name(name);
  p->set_data_type(onnx_dtype_code(t.dtype()));
  for (int64_t d : t.dims()) p->add_dims(d);
  p->set_raw_data(t.raw(), t.nbytes());
}
}  // namespace detail

Tensor read_onnx_tensor(std::span<const std::byte> bytes, const std::string& file, const std::string& base_dir) {
  onnx::TensorProto p;
  if (bytes.size() > size_t(INT32_MAX) || !p.ParseFromArray(bytes.data(), int(bytes.size())))
    fail<FormatError>(file, ": not a valid onnx.TensorProto");
  std::string ctx = file + (p.name().empty() ? "" : ": tensor '" + p.name() + "'");
  DType dt;
  try {
    dt = dtype_from_onnx_code(p.data_type());
  } catch (const UnsupportedError& e) {
    fail<UnsupportedError>(ctx, ": data_type: ", e.message());
  }
  std::vector<int64_t> dims;
  uint64_t numel = 1;
  for (int64_t d : p.dims()) {
    if (d < 0) fail<FormatError>(ctx, ": dims: negative dimension ", d);
    numel = checked_mul(numel, uint64_t(d), ctx + ": dims");
    dims.push_back(d);
  }
  if (numel > (uint64_t(1) << 48)) fail<FormatError>(ctx, ": dims: tensor too large");
  uint64_t nbytes = checked_mul(numel, dtype_size(dt), ctx);
  // Check that the data is there before allocating anything.
  if (p.data_location() != onnx::TensorProto::EXTERNAL && !p.has_raw_data()) {
    int64_t n = dt == DType::f32                         ? p.float_data_size()
                : dt == DType::f64                       ? p.double_data_size()
                : dt == DType::i64                       ? p.int64_data_size()
                : (dt == DType::u32 || dt == DType::u64) ? p.uint64_data_size()
                                                         : p.int32_data_size();
    if (uint64_t(n) != numel) fail<FormatError>(ctx, ": ", n, " values for ", numel, " elements");
  } else if (p.has_raw_data() && p.raw_data().size() != nbytes) {
    fail<FormatError>(ctx, ": raw_data holds ", p.raw_data().size(), " bytes, dims and data_type need ", nbytes);
  }
  if (p.data_location() == onnx::TensorProto::EXTERNAL && nbytes > (uint64_t(1) << 40))
    fail<FormatError>(ctx, ": external tensor too large");
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    // the file and the byte range are checked before the tensor is allocated: its size comes
    // from the dims, which a hostile file can make as large as it likes
    if (base_dir.empty()) fail<FormatError>(ctx, ": external data is not allowed here");
    std::string location;
    uint64_t offset = 0, length = nbytes;
    for (auto& kv : p.external_data()) {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset" || kv.key() == "length") {
        uint64_t v = 0;
        try {
          v = std::stoull(kv.value());
        } catch (...) {
          fail<FormatError>(ctx, ": external_data ", kv.key(), " '", kv.value(), "' is not a number");
        }
        (kv.key() == "offset" ? offset : length) = v;
      }
    }
    namespace fs = std::filesystem;
    fs::path rel = fs::path(location).lexically_normal();
    if (location.empty() || rel.is_absolute() || rel.empty() || *rel.begin() == "..")
      fail<FormatError>(ctx, ": external_data location '", location, "' escapes the model folder");
    if (length != nbytes) fail<FormatError>(ctx, ": external_data length ", length, " != ", nbytes, " bytes");
    auto m = MappedFile::open((fs::path(base_dir) / rel).string());
    if (offset > m->bytes().size() || length > m->bytes().size() - offset)
      fail<FormatError>(ctx, ": external_data [", offset, ", +", length, ") is outside '", location, "'");
    Tensor t(dt, dims);
    if (nbytes) std::memcpy(t.raw(), m->bytes().data() + offset, nbytes);
    return t;
  }
  Tensor t(dt, dims);
  if (p.has_raw_data()) {
    if (p.raw_data().size() != nbytes)
      fail<FormatError>(ctx, ": raw_data holds ", p.raw_data().size(), " bytes, dims and data_type need ", nbytes);
    if (nbytes) std::memcpy(t.raw(), p.raw_data().data(), nbytes);
    return t;
  }
  switch (dt) {
    case DType::f32: copy_typed(t, p.float_data(), ctx + ": float_data"); break;
    case DType::f64: copy_typed(t, p.double_data(), ctx + ": double_data"); break;
    case DType::i64: copy_typed(t, p.int64_data(), ctx + ": int64_data"); break;
    case DType::u32:
    case DType::u64: copy_typed(t, p.uint64_data(), ctx + ": uint64_data"); break;
    default: copy_typed(t, p.int32_data(), ctx + ": int32_data"); break;
  }
  return t;
}

namespace {
Tensor read_onnx_tensor_file(const std::string& path) {
  auto m = MappedFile::open(path);
  return read_onnx_tensor(m->bytes(), path, std::filesystem::path(path).parent_path().string());
}
}  // namespace

Tensor load_onnx_tensor(const std::string& path) {
  return reading_file(path, [&] { return read_onnx_tensor_file(path); });
}

}  // namespace mq::serialization
