#pragma once
/// Raw deflate streams (RFC 1951, zip's method 8) with zlib, and base64 (RFC 4648) to carry
/// them in text: the zip writer deflates text records, .mqm (version 2) stores its FlatBuffer
/// deflated, .safetensors (version 2) its graph description deflated and base64-encoded.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mq::serialization {

/// `bytes` compressed as one raw deflate stream (best compression).
std::vector<std::byte> deflate_raw(std::span<const std::byte> bytes);

/// Inflates a raw deflate stream that must produce exactly `size` bytes. The size is only a
/// claim: it is bounded by limits::kMaxDeflateRatio times the compressed size and by
/// limits::kMaxDecompressedBytes before anything is allocated, and the output grows with what
/// inflate really produces. Throws FormatError "<ctx>: ..." on a violated bound or a corrupt,
/// short or long stream.
std::vector<std::byte> inflate_raw(std::span<const std::byte> compressed, uint64_t size, const std::string& ctx);

/// Standard base64 with '=' padding.
std::string base64_encode(std::span<const std::byte> bytes);
/// Decodes standard base64 (padding required, no whitespace); FormatError "<ctx>: ..." on any
/// other character or a bad length.
std::vector<std::byte> base64_decode(std::string_view text, const std::string& ctx);

}  // namespace mq::serialization
