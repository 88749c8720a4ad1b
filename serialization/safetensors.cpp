// safetensors reading (fully validated) and writing.
#include "serialization/safetensors.h"

#include <algorithm>

#include "serialization/json_util.h"

namespace mq::serialization {

using detail::json;

namespace {
constexpr uint64_t kMaxHeader = 100'000'000;

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kNames[] = {
    {"BOOL", DType::boolean}, {"U8", DType::u8},     {"I8", DType::i8},   {"I16", DType::i16}, {"U16", DType::u16},
    {"F16", DType::f16},      {"BF16", DType::bf16}, {"I32", DType::i32}, {"U32", DType::u32}, {"F32", DType::f32},
    {"F64", DType::f64},      {"I64", DType::i64},   {"U64", DType::u64}};

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};
}  // namespace

std::string safetensors_dtype_name(DType t) {
  for (auto& n : kNames)
    if (n.dtype == t) return n.name;
  fail<UnsupportedError>("safetensors cannot hold dtype ", dtype_name(t));
}

DType safetensors_dtype(const std::string& name) {
  for (auto& n : kNames)
    if (name == n.name) return n.dtype;
  fail<UnsupportedError>("safetensors dtype '", name, "' is not supported by monoquant");
}

SafetensorsContents read_safetensors(std::span<const std::byte> bytes, const std::string& file) {
  ByteReader r(bytes, file);
  uint64_t n = r.u64("header length");
  if (n > kMaxHeader) r.error("header length", n, " exceeds the limit of ", kMaxHeader, " bytes");
  if (n > r.remaining())
    r.error("header length", n, " is larger than the rest of the file (", r.remaining(), " bytes)");
  auto hb = r.take(n, "header");
  std::string_view text(reinterpret_cast<const char*>(hb.data()), hb.size());
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{')
    r.error("header", "must be a JSON object starting with '{'");
  json h = detail::parse_json_strict(text, file + ": header");
  if (!h.is_object()) r.error("header", "must be a JSON object");

  SafetensorsContents out;
  std::vector<Entry> entries;
  for (auto& [key, val] : h.items()) {
    if (key == "__metadata__") {
      if (!val.is_object()) r.error("__metadata__", "must be an object of strings");
      for (auto& [mk, mv] : val.items()) {
        if (!mv.is_string()) r.error("__metadata__", "value of '", printable(mk), "' is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    std::string field = "tensor '" + printable(key) + "'";
    if (!val.is_object()) r.error(field, "must be an object");
    for (auto& [k, _] : val.items())
      if (k != "dtype" && k != "shape" && k != "data_offsets") r.error(field, "unknown key '", printable(k), "'");
    if (!val.contains("dtype") || !val["dtype"].is_string()) r.error(field, "'dtype' missing or not a string");
    if (!val.contains("shape") || !val["shape"].is_array()) r.error(field, "'shape' missing or not an array");
    if (!val.contains("data_offsets") || !val["data_offsets"].is_array() || val["data_offsets"].size() != 2)
      r.error(field, "'data_offsets' must be an array [begin, end]");
    Entry e;
    e.name = key;
    try {
      e.dtype = safetensors_dtype(val["dtype"].get<std::string>());
    } catch (const UnsupportedError& err) {
      fail<UnsupportedError>(file, ": ", field, ": ", err.message());
    }
    uint64_t numel = 1;
    for (auto& d : val["shape"]) {
      if (!d.is_number_unsigned())
        r.error(field, "shape entries must be non-negative integers, got ", printable(d.dump()));
      uint64_t v = d.get<uint64_t>();
      numel = checked_mul(numel, v, file + ": " + field + ": shape");
      e.shape.push_back(int64_t(v));
    }
    if (numel > (uint64_t(1) << 48)) r.error(field, "too many elements");
    for (auto& o : val["data_offsets"])
      if (!o.is_number_unsigned())
        r.error(field, "data_offsets must be non-negative integers, got ", printable(o.dump()));
    e.begin = val["data_offsets"][0].get<uint64_t>();
    e.end = val["data_offsets"][1].get<uint64_t>();
    if (e.end < e.begin) r.error(field, "data_offsets end ", e.end, " < begin ", e.begin);
    uint64_t want = checked_mul(numel, dtype_size(e.dtype), file + ": " + field + ": size");
    if (e.end - e.begin != want)
      r.error(field, "data_offsets span ", e.end - e.begin, " bytes, but shape and dtype need ", want);
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t expect = 0;
  for (auto& e : entries) {
    if (e.begin != expect)
      r.error("tensor '" + printable(e.name) + "'", "data_offsets begin at ", e.begin,
              " but the previous tensor ends at ", expect,
              expect == 0 ? " (the first tensor must start at 0)" : " (holes and overlaps are invalid)");
    expect = e.end;
  }
  if (expect != r.remaining())
    r.error("data", "tensors cover ", expect, " bytes but the data buffer holds ", r.remaining(),
            " (8 + header + last end must equal the file size)");
  size_t base = r.position();
  for (auto& e : entries) {
    Tensor t(e.dtype, e.shape);
    if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + base + e.begin, t.nbytes());
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

namespace {
SafetensorsContents read_safetensors_file(const std::string& path) {
  auto m = MappedFile::open(path);
  return read_safetensors(m->bytes(), path);
}
}  // namespace

SafetensorsContents load_safetensors(const std::string& path) {
  return reading_file(path, [&] { return read_safetensors_file(path); });
}

void write_safetensors(ByteSink& out, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const std::pair<const std::string, Tensor>*> order;
  for (auto& kv : tensors) {
    if (kv.first == "__metadata__") fail<InvalidArgument>("safetensors: a tensor cannot be named __metadata__");
    order.push_back(&kv);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](auto* a, auto* b) { return dtype_size(a->second.dtype()) > dtype_size(b->second.dtype()); });
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t off = 0;
  for (auto* kv : order) {
    const Tensor& t = kv->second;
    json e;
    e["dtype"] = safetensors_dtype_name(t.dtype());
    e["shape"] = t.dims();
    e["data_offsets"] = {off, off + t.nbytes()};
    off += t.nbytes();
    h[kv->first] = std::move(e);
  }
  std::string text = h.dump();
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  out.write_le<uint64_t>(text.size());
  out.write(text);
  for (auto* kv : order)
    if (kv->second.nbytes()) out.write(kv->second.raw(), kv->second.nbytes());
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  AtomicFile f(path);
  with_context(path, [&] { write_safetensors(f, tensors, metadata); });
  f.commit();
}

}  // namespace mq::serialization
