// Zip archives: writer with aligned data (stored, or deflated on request), checked reader (stored + deflate).
#include "serialization/zip.h"

#include <zlib.h>

#include "serialization/deflate.h"

#include <algorithm>
#include <limits>
#include <set>

#include "serialization/limits.h"

namespace mq::serialization {

namespace {
constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01

// A member name must stay inside the archive's folder when extracted.
bool name_is_safe(const std::string& n) {
  if (n.empty() || n[0] == '/' || n[0] == '\\') return false;
  if (n.find('\\') != std::string::npos || n.find('\0') != std::string::npos) return false;
  if (n.size() >= 2 && n[1] == ':') return false;  // "C:..."
  size_t start = 0;
  while (start <= n.size()) {
    size_t end = n.find('/', start);
    if (end == std::string::npos) end = n.size();
    if (n.compare(start, end - start, "..") == 0 && end - start == 2) return false;
    start = end + 1;
  }
  return true;
}
}  // namespace

uint32_t crc32(std::span<const std::byte> bytes, uint32_t crc) {
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  size_t n = bytes.size();
  uLong c = crc;
  while (n > 0) {
    uInt k = uInt(std::min<size_t>(n, 1u << 30));
    c = ::crc32(c, p, k);
    p += k;
    n -= k;
  }
  return uint32_t(c);
}

ZipReader::ZipReader(std::span<const std::byte> bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {
  ByteReader r(bytes_, file_);
  if (bytes_.size() < 22)
    r.error("end of central directory", "file too small to be a zip archive (", bytes_.size(), " bytes)");
  // The end record is in the last 22 + 65535 bytes (it may be followed by a comment).
  size_t lo = bytes_.size() > 22 + 65535 ? bytes_.size() - 22 - 65535 : 0;
  size_t eocd = std::numeric_limits<size_t>::max();
  for (size_t p = bytes_.size() - 22 + 1; p-- > lo;) {
    uint32_t sig;
    std::memcpy(&sig, bytes_.data() + p, 4);
    if (sig == kEndSig) {
      uint16_t clen;
      std::memcpy(&clen, bytes_.data() + p + 20, 2);
      if (p + 22 + clen == bytes_.size()) {
        eocd = p;
        break;
      }
    }
  }
  if (eocd == std::numeric_limits<size_t>::max())
    r.error("end of central directory", "signature not found (not a zip archive, or truncated)");
  r.seek(eocd + 4, "end of central directory");
  uint16_t disk = r.u16("disk number"), cd_disk = r.u16("central directory disk");
  uint16_t n_disk = r.u16("entries on disk"), n_total = r.u16("entry count");
  uint32_t cd_size = r.u32("central directory size"), cd_offset = r.u32("central directory offset");
  if (n_total == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF)
    r.error("end of central directory", "zip64 archives (over 4 GiB or 65535 entries) are not supported");
  if (disk != 0 || cd_disk != 0 || n_disk != n_total)
    r.error("end of central directory", "multi-disk archives are not supported");
  // torch.save always adds zip64 end records even when every value fits in 32 bits: accept
  // them when they agree with the classic record.
  size_t cd_limit = eocd;
  if (eocd >= 20) {
    uint32_t sig;
    std::memcpy(&sig, bytes_.data() + eocd - 20, 4);
    if (sig == kZip64LocatorSig) {
      r.seek(eocd - 20 + 8, "zip64 locator");
      uint64_t rec = r.u64("zip64 locator");
      if (rec > eocd - 20 || eocd - 20 - rec < 56)
        r.error("zip64 locator", "record offset ", rec, " out of range");
      r.seek(rec, "zip64 end record");
      if (r.u32("zip64 end record") != 0x06064b50) r.error("zip64 end record", "bad signature");
      r.take(4 + 8, "zip64 end record");  // record size, versions, disk numbers
      r.take(8, "zip64 end record");
      uint64_t n64a = r.u64("zip64 end record"), n64 = r.u64("zip64 end record");
      uint64_t size64 = r.u64("zip64 end record"), off64 = r.u64("zip64 end record");
      if (n64a != n_total || n64 != n_total || size64 != cd_size || off64 != cd_offset)
        r.error("zip64 end record", "disagrees with the end of central directory (archives that need zip64 ",
                "are not supported)");
      cd_limit = size_t(rec);
    }
  }
  if (uint64_t(cd_offset) + cd_size > cd_limit)
    r.error("central directory offset", "directory [", cd_offset, ", +", cd_size,
            ") runs past the end records at ", cd_limit);

  r.seek(cd_offset, "central directory offset");
  std::set<std::string> names;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [header, data end) of each member
  for (uint32_t i = 0; i < n_total; ++i) {
    std::string field = "central directory entry " + std::to_string(i);
    if (r.position() + 46 > uint64_t(cd_offset) + cd_size) r.error(field, "runs past the directory");
    if (r.u32(field) != kCentralSig) r.error(field, "bad signature");
    r.u16(field);  // version made by
    r.u16(field);  // version needed
    uint16_t flags = r.u16(field);
    ZipEntry e;
    e.method = r.u16(field);
    r.u16(field);
    r.u16(field);  // time, date
    e.crc = r.u32(field);
    e.compressed_size = r.u32(field);
    e.size = r.u32(field);
    uint16_t name_len = r.u16(field), extra_len = r.u16(field), comment_len = r.u16(field);
    r.u16(field);
    r.u16(field);
    r.u32(field);  // disk, internal and external attributes
    uint32_t header_offset = r.u32(field);
    auto name = r.take(name_len, field + " name");
    e.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
    r.take(extra_len, field + " extra field");
    r.take(comment_len, field + " comment");
    field = "entry '" + printable(e.name) + "'";
    if (r.position() > uint64_t(cd_offset) + cd_size) r.error(field, "runs past the central directory");
    if (e.size == 0xFFFFFFFF || e.compressed_size == 0xFFFFFFFF || header_offset == 0xFFFFFFFF)
      r.error(field, "zip64 entries are not supported");
    if (flags & 1) r.error(field, "encrypted entries are not supported");
    if (e.method != 0 && e.method != 8) r.error(field, "unsupported compression method ", e.method);
    if (e.method == 0 && e.size != e.compressed_size)
      r.error(field, "stored entry has compressed size ", e.compressed_size, " != size ", e.size);
    if (!name_is_safe(e.name)) r.error(field, "name escapes the archive folder");
    if (!names.insert(e.name).second) r.error(field, "duplicate entry name");
    // The local header: only its name and extra lengths are used (sizes come from above).
    ByteReader l(bytes_, file_);
    if (uint64_t(header_offset) + 30 > cd_offset)
      r.error(field, "local header offset ", header_offset, " out of range");
    l.seek(header_offset, field + " local header");
    if (l.u32(field) != kLocalSig) r.error(field, "bad local header signature at offset ", header_offset);
    l.seek(header_offset + 26, field);
    uint16_t lname_len = l.u16(field), lextra_len = l.u16(field);
    auto lname = l.take(lname_len, field + " local name");
    if (lname_len != name_len || std::memcmp(lname.data(), name.data(), name_len) != 0)
      r.error(field, "local header name differs from the central directory");
    l.take(lextra_len, field + " local extra field");
    e.data_offset = l.position();
    if (e.data_offset > cd_offset || e.compressed_size > cd_offset - e.data_offset)
      r.error(field, "data [", e.data_offset, ", +", e.compressed_size, ") runs past the archive's data area (",
              cd_offset, " bytes)");
    ranges.emplace_back(header_offset, e.data_offset + e.compressed_size);
    entries_.push_back(std::move(e));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      r.error("entries", "two entries overlap at offset ", ranges[i].first);
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  for (auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::span<const std::byte> ZipReader::stored_data(const ZipEntry& e, bool check_crc) const {
  if (e.method != 0)
    fail<FormatError>(file_, ": entry '", printable(e.name), "': compressed; a stored entry is required");
  auto d = bytes_.subspan(e.data_offset, e.size);
  if (check_crc && crc32(d) != e.crc)
    fail<FormatError>(file_, ": entry '", printable(e.name), "': CRC-32 mismatch");
  return d;
}

std::vector<std::byte> ZipReader::extract(const ZipEntry& e) const {
  if (e.method == 0) {
    auto d = stored_data(e, true);
    return {d.begin(), d.end()};
  }
  if (e.compressed_size > bytes_.size() || e.data_offset > bytes_.size() - e.compressed_size)
    fail<FormatError>(file_, ": entry '", printable(e.name), "': data outside the archive");
  std::vector<std::byte> out = inflate_raw(bytes_.subspan(size_t(e.data_offset), size_t(e.compressed_size)),
                                           e.size, file_ + ": entry '" + printable(e.name) + "'");
  if (crc32(out) != e.crc) fail<FormatError>(file_, ": entry '", printable(e.name), "': CRC-32 mismatch");
  return out;
}

void ZipWriter::add(const std::string& name, std::span<const std::byte> data, bool deflated) {
  if (finished_) fail<Error>("zip writer: entry '", name, "' added after finish()");
  if (!name_is_safe(name)) fail<InvalidArgument>("zip writer: unsafe entry name '", name, "'");
  if (name.size() > 0xFFFF) fail<InvalidArgument>("zip writer: entry name too long");
  uint64_t off = sink_.position();
  if (data.size() >= 0xFFFFFFFFull || off >= 0xFFFFFFFFull)
    fail<UnsupportedError>("zip writer: entry '", name, "' needs zip64 (over 4 GiB), which is not supported");
  size_t base = size_t(off) + 30 + name.size() + 4;
  size_t pad = deflated ? 0 : (alignment_ - base % alignment_) % alignment_;  // only stored data is read in place
  uint32_t crc = crc32(data);
  const uint16_t method = deflated ? 8 : 0;
  std::vector<std::byte> packed;
  if (deflated) packed = deflate_raw(data);
  const std::span<const std::byte> body = deflated ? std::span<const std::byte>(packed) : data;
  sink_.write_le<uint32_t>(kLocalSig);
  sink_.write_le<uint16_t>(20);  // version needed
  sink_.write_le<uint16_t>(0);   // flags
  sink_.write_le<uint16_t>(method);
  sink_.write_le<uint16_t>(0);
  sink_.write_le<uint16_t>(kDosDate);
  sink_.write_le<uint32_t>(crc);
  sink_.write_le<uint32_t>(uint32_t(body.size()));
  sink_.write_le<uint32_t>(uint32_t(data.size()));
  sink_.write_le<uint16_t>(uint16_t(name.size()));
  sink_.write_le<uint16_t>(uint16_t(4 + pad));
  sink_.write(name);
  sink_.write("FB");
  sink_.write_le<uint16_t>(uint16_t(pad));
  static const char zs[64] = {'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z',
                              'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z',
                              'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z',
                              'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z'};
  for (size_t left = pad; left > 0;) {
    size_t k = std::min(left, sizeof zs);
    sink_.write(zs, k);
    left -= k;
  }
  sink_.write(body.data(), body.size());
  written_.push_back({name, crc, uint32_t(data.size()), uint32_t(body.size()), uint32_t(off), method});
}

void ZipWriter::finish() {
  if (finished_) return;
  finished_ = true;
  uint64_t cd_start = sink_.position();
  if (written_.size() >= 0xFFFF || cd_start >= 0xFFFFFFFFull)
    fail<UnsupportedError>("zip writer: archive needs zip64, which is not supported");
  for (auto& w : written_) {
    sink_.write_le<uint32_t>(kCentralSig);
    sink_.write_le<uint16_t>(20);  // made by
    sink_.write_le<uint16_t>(20);  // needed
    sink_.write_le<uint16_t>(0);
    sink_.write_le<uint16_t>(w.method);
    sink_.write_le<uint16_t>(0);
    sink_.write_le<uint16_t>(kDosDate);
    sink_.write_le<uint32_t>(w.crc);
    sink_.write_le<uint32_t>(w.compressed_size);
    sink_.write_le<uint32_t>(w.size);
    sink_.write_le<uint16_t>(uint16_t(w.name.size()));
    sink_.write_le<uint16_t>(0);  // extra
    sink_.write_le<uint16_t>(0);  // comment
    sink_.write_le<uint16_t>(0);  // disk
    sink_.write_le<uint16_t>(0);  // internal attributes
    sink_.write_le<uint32_t>(0);  // external attributes
    sink_.write_le<uint32_t>(w.header_offset);
    sink_.write(w.name);
  }
  uint64_t cd_size = sink_.position() - cd_start;
  sink_.write_le<uint32_t>(kEndSig);
  sink_.write_le<uint16_t>(0);
  sink_.write_le<uint16_t>(0);
  sink_.write_le<uint16_t>(uint16_t(written_.size()));
  sink_.write_le<uint16_t>(uint16_t(written_.size()));
  sink_.write_le<uint32_t>(uint32_t(cd_size));
  sink_.write_le<uint32_t>(uint32_t(cd_start));
  sink_.write_le<uint16_t>(0);
}

}  // namespace mq::serialization
