// NumPy .npy / .npz reading and writing.
#include "serialization/npy.h"

#include <cctype>

#include "serialization/zip.h"

namespace mq::serialization {

namespace {

struct Descr {
  const char* text;
  DType dtype;
};
// '<' little-endian, '|' not applicable (1 byte); '=' native is accepted on read (x86-64).
constexpr Descr kDescrs[] = {{"f4", DType::f32}, {"f8", DType::f64}, {"f2", DType::f16}, {"i1", DType::i8},
                             {"u1", DType::u8},  {"i2", DType::i16}, {"u2", DType::u16}, {"i4", DType::i32},
                             {"u4", DType::u32}, {"i8", DType::i64}, {"u8", DType::u64}, {"b1", DType::boolean}};

// A tiny parser for the Python dict literal of the header.
class HeaderParser {
 public:
  HeaderParser(std::string_view s, const std::string& file) : s_(s), file_(file) {}

  [[noreturn]] void error(const std::string& what) const {
    fail<FormatError>(file_, ": npy header: ", what, " (header: ", printable(s_, 2 * kMaxEchoedChars), ")");
  }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) error(std::string("expected '") + c + "'");
  }
  std::string str() {
    ws();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) error("expected a string");
    char q = s_[i_++];
    size_t end = s_.find(q, i_);
    if (end == std::string_view::npos) error("unterminated string");
    std::string r(s_.substr(i_, end - i_));
    i_ = end + 1;
    return r;
  }
  bool boolean() {
    ws();
    if (s_.substr(i_, 4) == "True") return i_ += 4, true;
    if (s_.substr(i_, 5) == "False") return i_ += 5, false;
    error("expected True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (!eat(')')) {
      ws();
      int64_t v = 0;
      size_t start = i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        if (v > (int64_t(1) << 48)) error("dimension too large");
        v = v * 10 + (s_[i_++] - '0');
      }
      if (i_ == start) error("expected a non-negative integer dimension");
      eat('L');  // Python 2 long
      dims.push_back(v);
      if (!eat(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }
  bool at_end() {
    ws();
    return i_ == s_.size();
  }

 private:
  std::string_view s_;
  const std::string& file_;
  size_t i_ = 0;
};

}  // namespace

Tensor read_npy(std::span<const std::byte> bytes, const std::string& file) {
  ByteReader r(bytes, file);
  auto magic = r.take(6, "magic");
  if (std::memcmp(magic.data(), "\x93NUMPY", 6) != 0) r.error("magic", "not a .npy file");
  uint8_t major = r.u8("version"), minor = r.u8("version");
  if (major < 1 || major > 3 || minor != 0)
    r.error("version", "unsupported version ", int(major), ".", int(minor));
  size_t header_len = major == 1 ? r.u16("header length") : r.u32("header length");
  auto hb = r.take(header_len, "header");
  std::string_view header(reinterpret_cast<const char*>(hb.data()), hb.size());
  if (header.find('\0') != std::string_view::npos) r.error("header", "contains a NUL byte");

  HeaderParser p(header, file);
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<int64_t>> shape;
  p.expect('{');
  while (!p.eat('}')) {
    std::string key = p.str();
    p.expect(':');
    if (key == "descr" && !descr) {
      descr = p.str();
    } else if (key == "fortran_order" && !fortran) {
      fortran = p.boolean();
    } else if (key == "shape" && !shape) {
      shape = p.tuple();
    } else {
      p.error("unexpected or repeated key '" + printable(key) + "'");
    }
    if (!p.eat(',')) {
      p.expect('}');
      break;
    }
  }
  if (!p.at_end()) p.error("trailing characters after the dictionary");
  if (!descr || !fortran || !shape) p.error("'descr', 'fortran_order' and 'shape' are all required");
  if (*fortran)
    r.error("fortran_order",
            "Fortran-ordered arrays are not supported (save a C-ordered copy, "
            "e.g. numpy.ascontiguousarray)");
  DType dt = DType::undefined;
  if (descr->size() == 3) {
    char order = (*descr)[0];
    for (auto& d : kDescrs)
      if (descr->substr(1) == d.text) dt = d.dtype;
    if (dt != DType::undefined) {
      bool one_byte = dtype_size(dt) == 1;
      if (order == '>' && !one_byte)
        r.error("descr", "big-endian data ('", printable(*descr), "') is not supported");
      if (order != '<' && order != '|' && order != '=' && !(order == '>' && one_byte))
        r.error("descr", "unknown byte order in '", printable(*descr), "'");
    }
  }
  if (dt == DType::undefined) r.error("descr", "unsupported dtype '", printable(*descr), "'");

  uint64_t numel = 1;
  for (int64_t d : *shape) numel = checked_mul(numel, uint64_t(d), file + ": shape");
  uint64_t nbytes = checked_mul(numel, dtype_size(dt), file + ": shape");
  if (numel > limits::kMaxTensorElements) r.error("shape", "array too large");
  if (nbytes != r.remaining())
    r.error("data", "expected ", nbytes, " bytes for shape ", Shape(*shape).str(), " of ", printable(*descr),
            ", file has ", r.remaining());
  Tensor t(dt, *shape);
  auto data = r.take(nbytes, "data");
  if (nbytes) std::memcpy(t.raw(), data.data(), nbytes);
  if (dt == DType::boolean) {
    auto* b = static_cast<uint8_t*>(t.raw());
    for (uint64_t i = 0; i < numel; ++i)
      if (b[i] > 1) r.error("data", "bool element ", i, " is neither 0 nor 1");
  }
  return t;
}

namespace {
Tensor read_npy_file(const std::string& path) {
  auto bytes = read_file(path);
  return read_npy(bytes, path);
}
}  // namespace

Tensor load_npy(const std::string& path) {
  return reading_file(path, [&] { return read_npy_file(path); });
}

void write_npy(ByteSink& out, const Tensor& t) {
  const char* code = nullptr;
  for (auto& d : kDescrs)
    if (d.dtype == t.dtype()) code = d.text;
  if (!code) fail<UnsupportedError>("npy: cannot write a tensor of dtype ", dtype_name(t.dtype()));
  std::string header = std::string("{'descr': '") + (dtype_size(t.dtype()) == 1 ? '|' : '<') + code +
                       "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.rank(); ++i) header += (i ? ", " : "") + std::to_string(t.dim(i));
  header += t.rank() == 1 ? ",), }" : "), }";
  // The preamble (10 or 12 bytes) + header + '\n' is a multiple of 64.
  int version = header.size() + 11 > 65535 ? 2 : 1;
  size_t pre = version == 1 ? 10 : 12;
  size_t total = (pre + header.size() + 1 + 63) / 64 * 64;
  header.append(total - pre - header.size() - 1, ' ');
  header += '\n';
  out.write("\x93NUMPY", 6);
  out.write_le<uint8_t>(uint8_t(version));
  out.write_le<uint8_t>(0);
  if (version == 1) out.write_le<uint16_t>(uint16_t(header.size()));
  else out.write_le<uint32_t>(uint32_t(header.size()));
  out.write(header);
  if (t.nbytes()) out.write(t.raw(), t.nbytes());
}

void save_npy(const std::string& path, const Tensor& t) {
  AtomicFile f(path);
  with_context(path, [&] { write_npy(f, t); });
  f.commit();
}

std::map<std::string, Tensor> read_npz(std::span<const std::byte> bytes, const std::string& file) {
  ZipReader zip(bytes, file);
  std::map<std::string, Tensor> out;
  for (auto& e : zip.entries()) {
    if (e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0)
      fail<FormatError>(file, ": entry '", printable(e.name), "': not a .npy member");
    std::string key = e.name.substr(0, e.name.size() - 4);
    auto data = zip.extract(e);
    out.emplace(key, read_npy(data, file + ": " + printable(e.name)));
  }
  return out;
}

namespace {
std::map<std::string, Tensor> read_npz_file(const std::string& path) {
  auto m = MappedFile::open(path);
  return read_npz(m->bytes(), path);
}
}  // namespace

std::map<std::string, Tensor> load_npz(const std::string& path) {
  return reading_file(path, [&] { return read_npz_file(path); });
}

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays) {
  AtomicFile f(path);
  with_context(path, [&] {
    ZipWriter zip(f, 64);
    for (auto& [name, t] : arrays) {
      BufferSink b;
      write_npy(b, t);
      zip.add(name + ".npy", b.bytes());
    }
    zip.finish();
  });
  f.commit();
}

}  // namespace mq::serialization
