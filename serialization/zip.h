#pragma once
/// A minimal zip archive reader and writer: what .npz files and torch.save archives need.
/// The writer stores entries uncompressed (or deflated on request) with CRC-32 and starts every
/// stored entry's data at a multiple of `alignment` bytes by padding the local header's extra
/// field (id "FB", as PyTorch does). The reader trusts only the central directory, checks every offset and size
/// against the archive, rejects names that would escape the archive's folder, overlapping
/// entries and zip64 archives, and inflates deflated entries with zlib.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "serialization/io.h"

namespace mq::serialization {

/// CRC-32 (zip / zlib polynomial) of `bytes`, continuing from `crc`.
uint32_t crc32(std::span<const std::byte> bytes, uint32_t crc = 0);

/// One archive member as the central directory describes it.
struct ZipEntry {
  std::string name;              ///< path inside the archive ("archive/data.pkl")
  uint64_t data_offset = 0;      ///< where the (possibly compressed) bytes start
  uint64_t compressed_size = 0;  ///< bytes stored in the archive
  uint64_t size = 0;             ///< bytes after extraction
  uint16_t method = 0;           ///< 0 = stored, 8 = deflated
  uint32_t crc = 0;              ///< CRC-32 of the extracted bytes
};

/// Reads an archive held in memory (a buffer or a mapped file). The bytes must outlive it.
class ZipReader {
 public:
  /// Parses the central directory; FormatError naming `file` and the field on any problem.
  ZipReader(std::span<const std::byte> bytes, std::string file);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  /// The entry called `name`, or nullptr.
  const ZipEntry* find(const std::string& name) const;
  /// The bytes of a stored (uncompressed) entry, without copying; CRC checked if `check_crc`.
  std::span<const std::byte> stored_data(const ZipEntry& e, bool check_crc = true) const;
  /// The extracted bytes of a stored or deflated entry; the CRC is always checked. A deflated
  /// entry may not declare more than limits::kMaxDeflateRatio times its compressed size.
  std::vector<std::byte> extract(const ZipEntry& e) const;
  const std::string& file() const { return file_; }
  /// Bytes of the whole archive.
  size_t size() const { return bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  std::string file_;
  std::vector<ZipEntry> entries_;
};

/// Writes a zip archive of stored (or deflated) entries to a sink.
class ZipWriter {
 public:
  explicit ZipWriter(ByteSink& sink, size_t alignment = 64) : sink_(sink), alignment_(alignment) {}
  /// Appends an entry; stored data starts at a multiple of the alignment. `deflated` stores
  /// it compressed (method 8, not aligned: it is never read in place) instead.
  void add(const std::string& name, std::span<const std::byte> data, bool deflated = false);
  void add(const std::string& name, std::string_view text, bool deflated = false) {
    add(name, std::as_bytes(std::span<const char>(text.data(), text.size())), deflated);
  }
  /// Writes the central directory. No entry may be added afterwards.
  void finish();

 private:
  struct Written {
    std::string name;
    uint32_t crc;
    uint32_t size;             ///< bytes after extraction
    uint32_t compressed_size;  ///< bytes in the archive
    uint32_t header_offset;
    uint16_t method;  ///< 0 stored, 8 deflated
  };
  ByteSink& sink_;
  size_t alignment_;
  std::vector<Written> written_;
  bool finished_ = false;
};

}  // namespace mq::serialization
