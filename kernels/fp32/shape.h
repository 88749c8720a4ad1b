#pragma once
/// Data-movement kernels on raw bytes: every function takes an element size, so one body
/// serves every dtype (f32, i64, bool, u8, ...). Pointers and sizes only: no allocation,
/// no errors (callers validate shapes and indices first).
#include <cstddef>
#include <cstdint>

namespace mq::kernels {

/// Highest rank strided_copy and pad accept (callers check it).
inline constexpr int kMaxCopyRank = 16;

/// A strided view of a source tensor, read into a contiguous destination.
struct StridedCopyParams {
  int rank = 0;                      ///< number of dims (<= kMaxCopyRank); 0 copies one element
  const int64_t* dims = nullptr;     ///< destination dims (row-major, contiguous)
  const int64_t* strides = nullptr;  ///< source strides in elements per destination dim
                                     ///< (0 broadcasts, negative walks backwards)
  int64_t offset = 0;                ///< source offset in elements of destination index 0
  size_t elem_size = 0;              ///< bytes per element
};

/// dst[i0,..,in] = src[offset + Σ ik·strides[k]]. Covers Transpose, Slice, Expand, Tile.
void strided_copy(const void* src, void* dst, const StridedCopyParams& p);

/// Copies `rows` blocks of `block_bytes` from src (packed) into dst with a row pitch of
/// `dst_pitch` bytes (Concat writes each input this way).
void copy_blocks(const void* src, void* dst, int64_t rows, size_t block_bytes, size_t dst_pitch);

/// out[o, j, i] = data[o, indices[j], i] for o < outer, j < num_indices, i < inner;
/// indices are already in [0, axis_dim).
void gather(const void* data, void* out, size_t elem_size, int64_t outer, int64_t axis_dim, int64_t inner,
            const int64_t* indices, int64_t num_indices);

/// Writes `n` copies of the element at `value` into dst.
void fill(void* dst, const void* value, size_t elem_size, int64_t n);

/// How Pad fills the border.
enum class PadMode { constant, reflect, edge, wrap };

/// Pad parameters; pads may be negative (cropping).
struct PadParams {
  int rank = 0;  ///< <= kMaxCopyRank
  const int64_t* in_dims = nullptr;
  const int64_t* out_dims = nullptr;  ///< in_dims[k] + begin[k] + end pad
  const int64_t* begin = nullptr;     ///< pads before each dim
  PadMode mode = PadMode::constant;
  const void* value = nullptr;  ///< one element, for constant mode
  size_t elem_size = 0;
};

/// Pads (or crops) src into dst. Non-constant modes need every in_dim > 0.
void pad(const void* src, void* dst, const PadParams& p);

}  // namespace mq::kernels
