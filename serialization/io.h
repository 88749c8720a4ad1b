#pragma once
/// File plumbing shared by every format: whole-file reads, memory maps, atomic writes and a
/// bounds-checked little-endian reader whose errors name the file and the field.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ir/error.h"
#include "serialization/limits.h"

namespace mq::serialization {

/// Reads a whole file; IoError naming the path when it cannot be opened or read.
std::vector<std::byte> read_file(const std::string& path);

/// A read-only memory map of a whole file, unmapped when the last shared_ptr goes away.
class MappedFile {
 public:
  /// Maps `path`; IoError when it cannot be opened or mapped. An empty file maps to no bytes.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

/// Where writers put their bytes: a file being written or a buffer in memory.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  /// Appends `n` bytes.
  virtual void write(const void* data, size_t n) = 0;
  /// Bytes written so far.
  virtual size_t position() const = 0;

  void write(std::string_view s) { write(s.data(), s.size()); }
  /// Appends `n` zero bytes.
  void pad(size_t n);
  /// Pads with zeros up to the next multiple of `alignment`.
  void align(size_t alignment);
  template <class T>
  void write_le(T v) {  // the host is little-endian (x86-64)
    write(&v, sizeof v);
  }
};

/// A sink that collects bytes in memory.
class BufferSink : public ByteSink {
 public:
  void write(const void* data, size_t n) override;
  size_t position() const override { return buf_.size(); }
  std::vector<std::byte>& bytes() { return buf_; }

 private:
  std::vector<std::byte> buf_;
};

/// Writes a file atomically: bytes go to a temporary file in the same folder; commit()
/// fsyncs it and renames it over `path`. Without commit() (an exception unwound past it) the
/// temporary file is removed and an existing file at `path` is left untouched. Because the
/// final step is a rename, a file that is currently mapped (e.g. the .mqm a graph was loaded
/// from) stays valid for its readers when it is overwritten.
class AtomicFile : public ByteSink {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile() override;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n) override;
  size_t position() const override { return pos_; }
  /// Flushes, fsyncs and renames the temporary file to the destination.
  void commit();
  const std::string& path() const { return path_; }

 private:
  void flush();
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  size_t pos_ = 0;
  std::vector<char> buf_;
};

/// Writes `bytes` to `path` atomically (see AtomicFile).
void write_file_atomic(const std::string& path, std::span<const std::byte> bytes);

/// A bounds-checked cursor over bytes. Every read that would pass the end throws a
/// FormatError "<file>: <field>: ..." instead of reading out of bounds.
class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, std::string file) : b_(bytes), file_(std::move(file)) {}

  size_t size() const { return b_.size(); }
  size_t position() const { return pos_; }
  size_t remaining() const { return b_.size() - pos_; }
  const std::string& file() const { return file_; }
  /// Moves to an absolute offset (must be <= size).
  void seek(size_t pos, std::string_view field);
  /// Returns the next `n` bytes and advances.
  std::span<const std::byte> take(size_t n, std::string_view field);
  template <class T>
  T read_le(std::string_view field) {
    auto s = take(sizeof(T), field);
    T v;
    std::memcpy(&v, s.data(), sizeof v);
    return v;
  }
  uint8_t u8(std::string_view f) { return read_le<uint8_t>(f); }
  uint16_t u16(std::string_view f) { return read_le<uint16_t>(f); }
  uint32_t u32(std::string_view f) { return read_le<uint32_t>(f); }
  uint64_t u64(std::string_view f) { return read_le<uint64_t>(f); }
  /// Throws FormatError "<file>: <field>: <message>".
  template <class... Args>
  [[noreturn]] void error(std::string_view field, const Args&... args) const {
    fail<FormatError>(file_, ": ", field, ": ", args...);
  }

 private:
  std::span<const std::byte> b_;
  std::string file_;
  size_t pos_ = 0;
};

/// The lowercase extension of `path` including the dot (".mqm"), or "".
std::string file_extension(const std::string& path);

/// Multiplies sizes, throwing FormatError "<what>: size overflow" on overflow.
uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view what);

}  // namespace mq::serialization
