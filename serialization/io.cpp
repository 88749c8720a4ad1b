// File plumbing: whole-file reads, memory maps, atomic writes, bounds-checked reads.
#include "serialization/io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

namespace mq::serialization {

namespace {
std::string errno_text() { return std::strerror(errno); }

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Opens a regular file for reading. O_NONBLOCK keeps open() from waiting for a writer when
// `path` is a FIFO, which is then rejected like every other non-regular file.
Fd open_regular(const std::string& path, struct stat& st) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) fail<IoError>(path, ": cannot open: ", errno_text());
  if (::fstat(f.fd, &st) != 0) fail<IoError>(path, ": cannot stat: ", errno_text());
  if (!S_ISREG(st.st_mode)) fail<IoError>(path, ": not a regular file");
  return f;
}
}  // namespace

std::vector<std::byte> read_file(const std::string& path) {
  struct stat st {};
  Fd f = open_regular(path, st);
  std::vector<std::byte> out(size_t(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::read(f.fd, out.data() + got, out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail<IoError>(path, ": read failed: ", errno_text());
    if (r == 0) break;
    got += size_t(r);
  }
  out.resize(got);
  return out;
}

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  struct stat st {};
  Fd f = open_regular(path, st);
  auto m = std::shared_ptr<MappedFile>(new MappedFile());
  m->path_ = path;
  m->size_ = size_t(st.st_size);
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, f.fd, 0);
    if (p == MAP_FAILED) fail<IoError>(path, ": cannot map: ", errno_text());
    m->data_ = static_cast<std::byte*>(p);
  }
  return m;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

void ByteSink::pad(size_t n) {
  static const char zeros[64] = {};
  while (n > 0) {
    size_t k = std::min(n, sizeof zeros);
    write(zeros, k);
    n -= k;
  }
}

void ByteSink::align(size_t alignment) {
  size_t r = position() % alignment;
  if (r) pad(alignment - r);
}

void BufferSink::write(const void* data, size_t n) {
  auto* p = static_cast<const std::byte*>(data);
  buf_.insert(buf_.end(), p, p + n);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  fs::path dest(path_);
  fs::path dir = dest.parent_path();
  if (dest.filename().empty()) fail<IoError>(path_, ": not a file path");
  std::string templ = (dir / ("." + dest.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) fail<IoError>(path_, ": cannot create a temporary file in its folder: ", errno_text());
  tmp_ = name.data();
  ::fchmod(fd_, 0644);
  buf_.reserve(1 << 20);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::flush() {
  size_t done = 0;
  while (done < buf_.size()) {
    ssize_t r = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail<IoError>(path_, ": write failed: ", errno_text());
    done += size_t(r);
  }
  buf_.clear();
}

void AtomicFile::write(const void* data, size_t n) {
  if (fd_ < 0) fail<IoError>(path_, ": write after commit");
  auto* p = static_cast<const char*>(data);
  if (buf_.size() + n > buf_.capacity()) flush();
  if (n >= buf_.capacity()) {
    buf_.assign(p, p + n);
    flush();
  } else {
    buf_.insert(buf_.end(), p, p + n);
  }
  pos_ += n;
}

void AtomicFile::commit() {
  flush();
  if (::fsync(fd_) != 0) fail<IoError>(path_, ": fsync failed: ", errno_text());
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(tmp_.c_str());
    fail<IoError>(path_, ": close failed: ", errno_text());
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp_.c_str());
    fail<IoError>(path_, ": cannot rename the temporary file into place: ", std::strerror(e));
  }
  // Make the rename durable.
  std::string dir = std::filesystem::path(path_).parent_path().string();
  Fd d{::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) ::fsync(d.fd);
}

void write_file_atomic(const std::string& path, std::span<const std::byte> bytes) {
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit();
}

void ByteReader::seek(size_t pos, std::string_view field) {
  if (pos > b_.size()) error(field, "offset ", pos, " is beyond the end (", b_.size(), " bytes)");
  pos_ = pos;
}

std::span<const std::byte> ByteReader::take(size_t n, std::string_view field) {
  if (n > remaining())
    error(field, "truncated: needs ", n, " bytes at offset ", pos_, ", only ", remaining(), " left");
  auto s = b_.subspan(pos_, n);
  pos_ += n;
  return s;
}

std::string file_extension(const std::string& path) {
  std::string e = std::filesystem::path(path).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e;
}

uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail<FormatError>(what, ": size overflow");
  return r;
}

}  // namespace mq::serialization
