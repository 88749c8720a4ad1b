// torch.save zip archives: state dicts of plain and quantized tensors.
#include "serialization/torch_zip.h"

#include <random>
#include <unordered_map>

#include "serialization/limits.h"
#include "serialization/pickle.h"
#include "serialization/zip.h"

namespace mq::serialization {

namespace {

struct StorageKind {
  const char* name;  // torch.<name>
  DType dtype;
  bool quantized;
};
constexpr StorageKind kStorages[] = {
    {"FloatStorage", DType::f32, false},     {"HalfStorage", DType::f16, false},
    {"BFloat16Storage", DType::bf16, false}, {"DoubleStorage", DType::f64, false},
    {"LongStorage", DType::i64, false},      {"IntStorage", DType::i32, false},
    {"ShortStorage", DType::i16, false},     {"CharStorage", DType::i8, false},
    {"ByteStorage", DType::u8, false},       {"BoolStorage", DType::boolean, false},
    {"QInt8Storage", DType::i8, true},       {"QUInt8Storage", DType::u8, true},
    {"QInt32Storage", DType::i32, true}};

const char* storage_name(DType dt, bool quantized) {
  for (auto& s : kStorages)
    if (s.dtype == dt && s.quantized == quantized) return s.name;
  fail<UnsupportedError>("torch: no ", quantized ? "quantized " : "", "storage type for dtype ", dtype_name(dt));
}

// ---------------------------------------------------------------- writing
class StateDictWriter {
 public:
  StateDictWriter(PickleWriter& p) : p_(p) {}
  std::vector<std::pair<std::string, Tensor>> storages;  // key = index

  void tensor(const Tensor& t, const std::string& key) {
    bool q =
        t.quant().has_value() && (t.dtype() == DType::i8 || t.dtype() == DType::u8 || t.dtype() == DType::i32);
    p_.global("torch._utils", q ? "_rebuild_qtensor" : "_rebuild_tensor_v2");
    p_.mark();
    storage(t, q);
    p_.integer(0);  // storage offset
    ints(t.dims());
    ints(contiguous_strides(t.dims()));
    if (q) quantizer(t, key);
    p_.boolean(false);  // requires_grad
    p_.global("collections", "OrderedDict");
    p_.empty_tuple();
    p_.reduce();  // backward hooks
    p_.tuple();
    p_.reduce();
  }

 private:
  void storage(const Tensor& t, bool quantized) {
    std::string key = std::to_string(storages.size());
    storages.emplace_back(key, t);
    p_.mark();
    p_.string("storage");
    p_.global("torch", storage_name(t.dtype(), quantized));
    p_.string(key);
    p_.string("cpu");
    p_.integer(t.numel());
    p_.tuple();
    p_.persid();
  }
  void ints(const std::vector<int64_t>& v) {
    if (v.size() <= 3) {
      for (int64_t x : v) p_.integer(x);
      p_.tuple_n(v.size());
      return;
    }
    p_.mark();
    for (int64_t x : v) p_.integer(x);
    p_.tuple();
  }
  void quantizer(const Tensor& t, const std::string& key) {
    const QuantParams& q = *t.quant();
    if (q.scales.empty() || q.scales.size() != q.zero_points.size())
      fail<InvalidArgument>("torch: tensor '", key, "': quant params need as many scales as zero points (>= 1)");
    if (!q.axis) {
      if (q.scales.size() != 1)
        fail<InvalidArgument>("torch: tensor '", key, "': per-tensor params with several scales");
      p_.global("torch", "per_tensor_affine");
      p_.floating(q.scales[0]);
      p_.integer(q.zero_points[0]);
      p_.tuple_n(3);
      return;
    }
    int64_t axis = normalize_axis(*q.axis, int64_t(t.rank()));
    if (int64_t(q.scales.size()) != t.dim(size_t(axis)))
      fail<InvalidArgument>("torch: tensor '", key, "': ", q.scales.size(), " scales for ", t.dim(size_t(axis)),
                            " channels");
    p_.mark();
    p_.global("torch", "per_channel_affine");
    std::vector<double> s(q.scales.begin(), q.scales.end());
    std::vector<int64_t> z(q.zero_points.begin(), q.zero_points.end());
    tensor(Tensor::from_vector<double>({int64_t(s.size())}, s), key + ".scales");
    tensor(Tensor::from_vector<int64_t>({int64_t(z.size())}, z), key + ".zero_points");
    p_.integer(axis);
    p_.tuple();
  }
  PickleWriter& p_;
};

// ---------------------------------------------------------------- reading
const std::set<std::string>& allowed_globals() {
  static const std::set<std::string> g = [] {
    std::set<std::string> s{"collections.OrderedDict",       "torch._utils._rebuild_tensor_v2",
                            "torch._utils._rebuild_qtensor", "torch._utils._rebuild_parameter",
                            "torch.per_tensor_affine",       "torch.per_channel_affine"};
    for (auto& k : kStorages) s.insert(std::string("torch.") + k.name);
    return s;
  }();
  return g;
}

class StateDictReader {
 public:
  StateDictReader(const ZipReader& zip, std::string prefix) : zip_(zip), prefix_(std::move(prefix)) {}

  Tensor tensor(const PyObject& o, const std::string& ctx, int depth = 0) {
    if (depth > 4) err(ctx, "tensors nested too deeply");
    if (o.kind != PyObject::Kind::call) err(ctx, "expected a tensor, found a ", o.describe());
    const PyObject& fn = *o.items[0];
    const auto& args = o.items[1]->items;
    if (fn.is_global("torch._utils", "_rebuild_parameter")) {
      if (args.empty()) err(ctx, "_rebuild_parameter without arguments");
      return tensor(*args[0], ctx, depth + 1);
    }
    bool q = fn.is_global("torch._utils", "_rebuild_qtensor");
    if (!q && !fn.is_global("torch._utils", "_rebuild_tensor_v2")) err(ctx, "unexpected ", fn.describe());
    if (args.size() < (q ? 6u : 5u)) err(ctx, "too few arguments to ", fn.name);
    auto [dt, quant_storage, bytes] = storage(*args[0], ctx);
    int64_t offset = integer(*args[1], ctx + ": storage_offset");
    std::vector<int64_t> size = int_tuple(*args[2], ctx + ": size");
    std::vector<int64_t> stride = int_tuple(*args[3], ctx + ": stride");
    if (size.size() != stride.size()) err(ctx, "size and stride differ in rank");
    if (quant_storage != q)
      err(ctx, q ? "quantized tensor on a plain storage" : "plain tensor on a quantized storage");
    // Every element must lie inside the storage: offset + Σ (size-1)·stride < numel.
    uint64_t numel_storage = bytes.size() / dtype_size(dt);
    uint64_t numel = 1, last = uint64_t(offset);
    if (offset < 0) err(ctx, "negative storage offset");
    for (size_t i = 0; i < size.size(); ++i) {
      if (size[i] < 0 || stride[i] < 0) err(ctx, "negative size or stride");
      numel = checked_mul(numel, uint64_t(size[i]), ctx);
      if (size[i] > 0) last += checked_mul(uint64_t(size[i] - 1), uint64_t(stride[i]), ctx);
    }
    if (numel > limits::kMaxTensorElements) err(ctx, "tensor too large");
    // Expanded views (stride 0) would let a few stored bytes become a huge tensor.
    if (numel > numel_storage)
      err(ctx, "size ", Shape(size).str(), " has ", numel, " elements, more than its storage of ", numel_storage,
          " (expanded views are not supported)");
    // Shared storages are copied per tensor: bound the total by the archive's size.
    out_bytes_ += numel * dtype_size(dt);
    if (out_bytes_ > limits::kMaxTensorCopies * zip_.size() + (1 << 20))
      err(ctx, "the tensors would take ", out_bytes_, " bytes, more than ", limits::kMaxTensorCopies,
          " times the archive (storages shared by too many tensors)");
    if (numel > 0 && last >= numel_storage)
      err(ctx, "size ", Shape(size).str(), " with stride ", Shape(stride).str(), " at offset ", offset,
          " reaches element ", last, " outside its storage of ", numel_storage, " elements");
    Tensor t(dt, size);
    gather(t, bytes, uint64_t(offset), size, stride);
    if (q) t.set_quant(quantizer(*args[4], dt, t.rank(), ctx, depth));
    return t;
  }

  [[noreturn]] void err(const std::string& ctx, const auto&... a) const {
    fail<FormatError>(zip_.file(), ": data.pkl: ", ctx, ": ", a...);
  }

 private:
  static int64_t integer(const PyObject& o, const std::string& ctx) {
    if (o.kind != PyObject::Kind::integer) fail<FormatError>(ctx, ": expected an int, found a ", o.describe());
    return o.i;
  }
  std::vector<int64_t> int_tuple(const PyObject& o, const std::string& ctx) {
    if (o.kind != PyObject::Kind::tuple) err(ctx, "expected a tuple, found a ", o.describe());
    std::vector<int64_t> v;
    for (auto& x : o.items) {
      if (x->kind != PyObject::Kind::integer) err(ctx, "expected ints");
      v.push_back(x->i);
    }
    return v;
  }
  std::tuple<DType, bool, std::span<const std::byte>> storage(const PyObject& o, const std::string& ctx) {
    if (o.kind != PyObject::Kind::persistent_id) err(ctx, "expected a storage, found a ", o.describe());
    const PyObject& id = *o.items[0];
    if (id.kind != PyObject::Kind::tuple || id.items.size() < 5 || id.items[0]->kind != PyObject::Kind::string ||
        id.items[0]->s != "storage")
      err(ctx, "persistent id is not ('storage', type, key, location, numel)");
    const PyObject& type = *id.items[1];
    const StorageKind* kind = nullptr;
    for (auto& k : kStorages)
      if (type.is_global("torch", k.name)) kind = &k;
    if (!kind) err(ctx, "unknown storage type ", type.describe());
    if (id.items[2]->kind != PyObject::Kind::string) err(ctx, "storage key is not a string");
    std::string key = id.items[2]->s;
    int64_t numel = integer(*id.items[4], ctx + ": storage numel");
    if (numel < 0) err(ctx, "negative storage size");
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      const ZipEntry* e = zip_.find(prefix_ + "data/" + key);
      if (!e) err(ctx, "storage record 'data/", printable(key), "' is missing");
      it = cache_.emplace(key, zip_.stored_data(*e)).first;
    }
    uint64_t want = checked_mul(uint64_t(numel), dtype_size(kind->dtype), ctx);
    if (it->second.size() != want)
      err(ctx, "storage 'data/", printable(key), "' holds ", it->second.size(), " bytes, but ", numel,
          " elements of ", dtype_name(kind->dtype), " need ", want);
    return {kind->dtype, kind->quantized, it->second};
  }
  static void gather(Tensor& t, std::span<const std::byte> src, uint64_t offset, const std::vector<int64_t>& size,
                     const std::vector<int64_t>& stride) {
    size_t es = dtype_size(t.dtype());
    auto* dst = static_cast<std::byte*>(t.raw());
    int64_t n = t.numel();
    if (n == 0) return;
    if (stride == contiguous_strides(size)) {
      std::memcpy(dst, src.data() + offset * es, size_t(n) * es);
      return;
    }
    std::vector<int64_t> idx(size.size(), 0);
    for (int64_t k = 0; k < n; ++k) {
      uint64_t e = offset;
      for (size_t d = 0; d < size.size(); ++d) e += uint64_t(idx[d] * stride[d]);
      std::memcpy(dst + size_t(k) * es, src.data() + e * es, es);
      for (size_t d = size.size(); d-- > 0;) {
        if (++idx[d] < size[d]) break;
        idx[d] = 0;
      }
    }
  }
  QuantParams quantizer(const PyObject& o, DType dt, size_t rank, const std::string& ctx, int depth) {
    if (o.kind != PyObject::Kind::tuple || o.items.empty()) err(ctx, "quantizer params must be a tuple");
    QuantParams q;
    q.qtype = dt;
    const PyObject& scheme = *o.items[0];
    if (scheme.is_global("torch", "per_tensor_affine")) {
      if (o.items.size() != 3 || o.items[1]->kind != PyObject::Kind::floating)
        err(ctx, "per_tensor_affine params must be (scheme, float scale, int zero_point)");
      int64_t zp = integer(*o.items[2], ctx + ": zero_point");
      if (zp < INT32_MIN || zp > INT32_MAX) err(ctx, "zero point out of range");
      q.scales = {float(o.items[1]->f)};
      q.zero_points = {int32_t(zp)};
    } else if (scheme.is_global("torch", "per_channel_affine")) {
      if (o.items.size() != 4) err(ctx, "per_channel_affine params must be (scheme, scales, zero_points, axis)");
      Tensor s = tensor(*o.items[1], ctx + ": scales", depth + 1);
      Tensor z = tensor(*o.items[2], ctx + ": zero_points", depth + 1);
      if (s.quant() || z.quant() || s.rank() != 1 || z.rank() != 1 || s.numel() != z.numel())
        err(ctx, "per-channel scales and zero points must be 1-D tensors of equal length");
      for (float f : s.to_float()) q.scales.push_back(f);
      for (int64_t v : z.to_int64()) {
        if (v < INT32_MIN || v > INT32_MAX) err(ctx, "zero point out of range");
        q.zero_points.push_back(int32_t(v));
      }
      int64_t axis = integer(*o.items[3], ctx + ": axis");
      if (axis < 0 || size_t(axis) >= rank) err(ctx, "axis ", axis, " out of range for rank ", rank);
      q.axis = axis;
    } else {
      err(ctx, "unsupported qscheme ", scheme.describe());
    }
    return q;
  }
  const ZipReader& zip_;
  std::string prefix_;
  std::unordered_map<std::string, std::span<const std::byte>> cache_;
  uint64_t out_bytes_ = 0;
};

}  // namespace

void save_torch_state_dict(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                           const std::map<std::string, std::string>& extra_records, const std::string& prefix) {
  BufferSink pkl;
  PickleWriter p(pkl);
  StateDictWriter w(p);
  with_context(path, [&] {
    p.proto();
    p.global("collections", "OrderedDict");
    p.empty_tuple();
    p.reduce();
    if (!tensors.empty()) {
      p.mark();
      for (auto& [name, t] : tensors) {
        p.string(name);
        w.tensor(t, name);
      }
      p.setitems();
    }
    p.stop();
  });
  AtomicFile f(path);
  with_context(path, [&] {
    ZipWriter zip(f, 64);
    const std::string dir = prefix + "/";
    zip.add(dir + "data.pkl", pkl.bytes(), true);  // deflated: torch.load inflates it
    zip.add(dir + "byteorder", std::string_view("little"));
    for (auto& [key, t] : w.storages)
      zip.add(dir + "data/" + key, std::span<const std::byte>(static_cast<const std::byte*>(t.raw()), t.nbytes()));
    // monoquant's own records (the graph description: JSON text) are deflated; torch.load
    // ignores them and the tensors stay stored and aligned
    for (auto& [name, bytes] : extra_records) zip.add(dir + name, std::string_view(bytes), true);
    zip.add(dir + "version", std::string_view("3\n"));
    std::random_device rd;
    zip.add(dir + ".data/serialization_id", std::to_string(uint64_t(rd()) << 32 | rd()));
    zip.finish();
  });
  f.commit();
}

TorchArchive read_torch_state_dict(std::span<const std::byte> bytes, const std::string& file) {
  ZipReader zip(bytes, file);
  if (zip.entries().empty()) fail<FormatError>(file, ": empty archive");
  std::string prefix = zip.entries()[0].name.substr(0, zip.entries()[0].name.find('/') + 1);
  if (prefix.empty()) fail<FormatError>(file, ": records must live under one top folder");
  for (auto& e : zip.entries())
    if (e.name.compare(0, prefix.size(), prefix) != 0)
      fail<FormatError>(file, ": record '", printable(e.name), "' is outside the top folder '", printable(prefix),
                        "'");
  const ZipEntry* pkl = zip.find(prefix + "data.pkl");
  if (!pkl) fail<FormatError>(file, ": no data.pkl record (not a torch.save archive)");
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    auto b = zip.extract(*bo);
    if (std::string(reinterpret_cast<const char*>(b.data()), b.size()) != "little")
      fail<FormatError>(file, ": byteorder: only little-endian archives are supported");
  }
  auto pkl_bytes = zip.extract(*pkl);
  PyRef root = read_pickle(pkl_bytes, file, allowed_globals());
  if (root->kind != PyObject::Kind::dict)
    fail<FormatError>(file, ": data.pkl: expected a state dict, found a ", root->describe());
  TorchArchive out;
  StateDictReader r(zip, prefix);
  for (auto& [k, v] : root->dict) {
    if (k->kind != PyObject::Kind::string) r.err("state dict", "key is a ", k->describe(), ", not a str");
    out.tensors.emplace_back(k->s, r.tensor(*v, "entry '" + printable(k->s) + "'"));
  }
  for (auto& e : zip.entries()) {
    std::string rel = e.name.substr(prefix.size());
    if (rel == "data.pkl" || rel.rfind("data/", 0) == 0) continue;
    auto b = zip.extract(e);
    out.records[rel] = std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  return out;
}

namespace {
TorchArchive read_torch_state_dict_file(const std::string& path) {
  auto m = MappedFile::open(path);
  return read_torch_state_dict(m->bytes(), path);
}
}  // namespace

TorchArchive load_torch_state_dict(const std::string& path) {
  return reading_file(path, [&] { return read_torch_state_dict_file(path); });
}

}  // namespace mq::serialization
