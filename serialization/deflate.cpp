#include "serialization/deflate.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "ir/error.h"
#include "serialization/limits.h"

namespace mq::serialization {

std::vector<std::byte> deflate_raw(std::span<const std::byte> bytes) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    fail<Error>("deflate: zlib init failed");
  std::vector<std::byte> out(deflateBound(&zs, uLong(bytes.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(bytes.data()));
  zs.avail_in = uInt(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const size_t produced = size_t(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) fail<Error>("deflate: zlib failed (", rc, ")");
  out.resize(produced);
  return out;
}

std::vector<std::byte> inflate_raw(std::span<const std::byte> compressed, uint64_t size, const std::string& ctx) {
  if (size > limits::kMaxDecompressedBytes || size > uint64_t(compressed.size()) * limits::kMaxDeflateRatio + 64)
    fail<FormatError>(ctx, ": declares ", size, " bytes from ", compressed.size(),
                      " compressed bytes (limit: ", limits::kMaxDeflateRatio, ":1 and ",
                      limits::kMaxDecompressedBytes, " bytes)");
  std::vector<std::byte> out;
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail<FormatError>(ctx, ": zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(compressed.data()));
  zs.avail_in = uInt(compressed.size());
  int rc = Z_OK;
  while (rc == Z_OK && zs.total_out < size) {
    size_t chunk = size_t(std::min<uint64_t>(size - zs.total_out, 1 << 20));
    out.resize(size_t(zs.total_out) + chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = uInt(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ran out: truncated stream
  }
  if (rc == Z_OK && zs.total_out == size) {  // the stream must end exactly here
    Bytef extra;
    zs.next_out = &extra;
    zs.avail_out = 1;
    rc = inflate(&zs, Z_FINISH);
  }
  const uint64_t produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != size)
    fail<FormatError>(ctx, ": corrupt deflate data (expected ", size, " bytes)");
  out.resize(size_t(produced));
  return out;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = v << 8 | (k < n ? uint32_t(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kB64[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::vector<std::byte> base64_decode(std::string_view text, const std::string& ctx) {
  if (text.size() % 4) fail<FormatError>(ctx, ": base64 length ", text.size(), " is not a multiple of 4");
  std::vector<std::byte> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      const char* p = c ? std::strchr(kB64, c) : nullptr;
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (!p || pad) fail<FormatError>(ctx, ": invalid base64 at character ", i + k);
      v = v << 6 | uint32_t(p - kB64);
    }
    for (int k = 0; k < 3 - pad; ++k) out.push_back(std::byte((v >> (16 - 8 * k)) & 0xFF));
  }
  return out;
}

}  // namespace mq::serialization
