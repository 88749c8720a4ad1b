// Executors for shape and data-movement ops. They move bytes (every dtype works) through the
// generic kernels of kernels/fp32/shape.h and resize.h; Reshape, Flatten, Squeeze,
// Unsqueeze, Identity and Dropout return views of their input.
#include "kernels/fp32/shape.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/executor.h"
#include "engine/ops/parallel.h"
#include "kernels/fp32/resize.h"
#include "ir/slicing.h"

namespace mq::ops {

namespace {

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) { return contiguous_strides(dims); }

/// Copies a strided view of `in` into `out` (whose dims give the loop bounds).
void copy_view(const Tensor& in, Tensor& out, const std::vector<int64_t>& strides, int64_t offset) {
  const auto& dims = out.dims();
  if (dims.size() > size_t(kernels::kMaxCopyRank))
    fail<UnsupportedError>("rank ", dims.size(), " is above the supported ", kernels::kMaxCopyRank);
  if (out.numel() == 0) return;
  kernels::StridedCopyParams p;
  p.rank = int(dims.size());
  p.dims = dims.data();
  p.strides = strides.data();
  p.offset = offset;
  p.elem_size = dtype_size(in.dtype());
  kernels::strided_copy(in.raw(), out.raw(), p);
}

/// copy_view with large outputs split over the session's threads along their outermost dim
/// above 1 (each thread copies whole slices of it: the same bytes, any thread count).
void copy_view_split(ExecContext& c, const Tensor& in, Tensor& out, const std::vector<int64_t>& strides,
                     int64_t offset) {
  const std::vector<int64_t>& dims = out.dims();
  const size_t r = dims.size();
  size_t d = 0;
  while (d + 1 < r && dims[d] == 1) ++d;
  const int64_t tasks =
      r == 0 ? 1 : std::min<int64_t>({step_threads(c), dims[d], out.numel() / kMinParallelElements});
  if (tasks <= 1 || r > size_t(kernels::kMaxCopyRank)) return copy_view(in, out, strides, offset);
  const int64_t inner = out.numel() / dims[d];  // output elements per index of dim d
  const size_t es = dtype_size(in.dtype());
  c.pool->parallel_for(size_t(tasks), [&](size_t t) {
    const int64_t b = dims[d] * int64_t(t) / tasks, e = dims[d] * int64_t(t + 1) / tasks;
    if (e <= b) return;
    std::vector<int64_t> part = dims;
    part[d] = e - b;
    kernels::StridedCopyParams p;
    p.rank = int(r);
    p.dims = part.data();
    p.strides = strides.data();
    p.offset = offset + b * strides[d];
    p.elem_size = es;
    kernels::strided_copy(in.raw(), static_cast<std::byte*>(out.raw()) + size_t(b * inner) * es, p);
  });
}

/// Output 0 = input 0 seen with output 0's dims (no copy).
void run_view(ExecContext& c) { c.outputs[0] = c.in(0).reshaped(c.out(0).dims()); }

void run_transpose(ExecContext& c) {
  const Tensor& in = c.in(0);
  size_t r = in.rank();
  std::vector<int64_t> perm = c.attrs().get_ints_or("perm", {});
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(int64_t(r - 1 - i));
  // a permutation that keeps the order of the dims above 1 moves no data: a view
  int64_t last = -1;
  bool moves = false;
  for (size_t k = 0; k < r && !moves; ++k) {
    const int64_t a = normalize_axis(perm[k], int64_t(r));
    if (in.dim(size_t(a)) == 1) continue;
    moves = a < last;
    last = a;
  }
  if (!moves) {
    c.outputs[0] = in.reshaped(c.out(0).dims());
    return;
  }
  auto is = strides_of(in.dims());
  std::vector<int64_t> strides(r);
  for (size_t k = 0; k < r; ++k) strides[k] = is[size_t(normalize_axis(perm[k], int64_t(r)))];
  copy_view_split(c, in, c.out(0), strides, 0);
}

void run_concat(ExecContext& c) {
  Tensor& out = c.out(0);
  int64_t r = int64_t(out.rank());
  int64_t axis = normalize_axis(c.attrs().get_int("axis"), r);
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= out.dim(size_t(k));
  for (int64_t k = axis + 1; k < r; ++k) inner *= out.dim(size_t(k));
  size_t es = dtype_size(out.dtype());
  size_t pitch = size_t(out.dim(size_t(axis)) * inner) * es;
  // rows [b, e) of every input, a few output rows (about 2 KiB) at a time so that each output
  // line is written whole while it is in cache (a channel Concat in NHWC: short blocks per
  // pixel); large outputs split their rows over the session's threads
  const int64_t chunk = std::max<int64_t>(1, int64_t(2048 / std::max<size_t>(pitch, 1)));
  auto rows = [&](int64_t b, int64_t e) {
    for (int64_t cb = b; cb < e; cb += chunk) {
      const int64_t ce = std::min(e, cb + chunk);
      auto* dst = static_cast<std::byte*>(out.raw()) + size_t(cb) * pitch;
      for (size_t i = 0; i < c.inputs.size(); ++i) {
        const Tensor& in = c.in(i);
        size_t block = size_t(in.dim(size_t(axis)) * inner) * es;
        if (block)
          kernels::copy_blocks(static_cast<const std::byte*>(in.raw()) + size_t(cb) * block, dst, ce - cb, block,
                               pitch);
        dst += block;
      }
    }
  };
  const int64_t tasks = std::min<int64_t>(step_threads(c), std::min(outer, out.numel() / kMinParallelElements));
  if (tasks <= 1) return rows(0, outer);
  c.pool->parallel_for(size_t(tasks), [&](size_t t) {
    const int64_t b = outer * int64_t(t) / tasks, e = outer * int64_t(t + 1) / tasks;
    if (e > b) rows(b, e);
  });
}

void run_split(ExecContext& c) {
  const Tensor& in = c.in(0);
  int64_t r = int64_t(in.rank());
  int64_t axis = normalize_axis(c.attrs().get_int_or("axis", 0), r);
  int64_t outer = 1, inner = 1, n = in.dim(size_t(axis));
  for (int64_t k = 0; k < axis; ++k) outer *= in.dim(size_t(k));
  for (int64_t k = axis + 1; k < r; ++k) inner *= in.dim(size_t(k));
  int64_t start = 0;
  for (Tensor& out : c.outputs) {
    int64_t len = out.dim(size_t(axis));
    Tensor flat = out.reshaped({outer, len * inner});
    copy_view(in, flat, {n * inner, 1}, start * inner);
    start += len;
  }
}

void run_slice(ExecContext& c) {
  const Tensor& in = c.in(0);
  int64_t r = int64_t(in.rank());
  auto starts = c.in(1).to_int64(), ends = c.in(2).to_int64();
  std::vector<int64_t> axes, steps;
  if (c.has(3)) axes = c.in(3).to_int64();
  else
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (c.has(4)) steps = c.in(4).to_int64();
  else steps.assign(starts.size(), 1);
  auto is = strides_of(in.dims());
  std::vector<int64_t> strides = is;
  int64_t offset = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t a = size_t(normalize_axis(axes[i], r));
    auto [s, len] = slice_range(starts[i], ends[i], steps[i], in.dim(a));
    (void)len;
    offset += s * is[a];
    strides[a] = is[a] * steps[i];
  }
  // a slice that is one contiguous block of the input (each dim above 1 has the stride of
  // the output's contiguous layout) is a view of it at an offset: no copy
  const std::vector<int64_t>& od = c.out(0).dims();
  bool block = c.out(0).numel() > 0;
  for (int64_t k = r - 1, inner = 1; k >= 0 && block; --k) {
    if (od[size_t(k)] == 1) continue;
    block = strides[size_t(k)] == inner;
    inner *= od[size_t(k)];
  }
  if (block && in.storage()) {
    Tensor view(in.dtype(), od, in.storage(), in.offset() + size_t(offset) * dtype_size(in.dtype()));
    view.set_quant(c.out(0).quant());
    c.outputs[0] = std::move(view);
    return;
  }
  copy_view_split(c, in, c.out(0), strides, offset);
}

void run_gather(ExecContext& c) {
  const Tensor& data = c.in(0);
  Tensor& out = c.out(0);
  int64_t r = int64_t(data.rank());
  int64_t axis = normalize_axis(c.attrs().get_int_or("axis", 0), r);
  int64_t outer = 1, inner = 1, n = data.dim(size_t(axis));
  for (int64_t k = 0; k < axis; ++k) outer *= data.dim(size_t(k));
  for (int64_t k = axis + 1; k < r; ++k) inner *= data.dim(size_t(k));
  auto idx = c.in(1).to_int64();
  for (int64_t& i : idx) {
    if (i < -n || i >= n)
      fail<InvalidArgument>(c.node.describe(), ": index ", i, " is out of range for dim ", axis, " of size ", n);
    if (i < 0) i += n;
  }
  if (out.numel() == 0) return;
  kernels::gather(data.raw(), out.raw(), dtype_size(data.dtype()), outer, n, inner, idx.data(),
                  int64_t(idx.size()));
}

void run_shape(ExecContext& c) {
  const auto& dims = c.in(0).dims();
  int64_t r = int64_t(dims.size());
  int64_t start = c.attrs().get_int_or("start", 0);
  if (start < 0) start += r;
  start = std::clamp<int64_t>(start, 0, r);
  int64_t* o = c.out(0).data<int64_t>();
  for (int64_t i = 0; i < c.out(0).numel(); ++i) o[i] = dims[size_t(start + i)];
}

void run_size(ExecContext& c) { *c.out(0).data<int64_t>() = c.in(0).numel(); }

void run_constant_of_shape(ExecContext& c) {
  Tensor& out = c.out(0);
  if (c.attrs().has("value")) {
    kernels::fill(out.raw(), c.attrs().get_tensor("value").raw(), dtype_size(out.dtype()), out.numel());
  } else {
    float zero = 0.f;
    kernels::fill(out.raw(), &zero, sizeof(float), out.numel());
  }
}

void run_expand(ExecContext& c) {
  const Tensor& in = c.in(0);
  Tensor& out = c.out(0);
  size_t r = out.rank(), ir = in.rank();
  auto is = strides_of(in.dims());
  std::vector<int64_t> strides(r, 0);
  for (size_t k = 0; k < ir; ++k) {
    size_t o = r - ir + k;
    strides[o] = in.dim(k) == 1 && out.dim(o) != 1 ? 0 : is[k];
  }
  copy_view(in, out, strides, 0);
}

void run_tile(ExecContext& c) {
  const Tensor& in = c.in(0);
  Tensor& out = c.out(0);
  size_t r = in.rank();
  auto reps = c.in(1).to_int64();
  auto is = strides_of(in.dims());
  // The output [r0·d0, r1·d1, ..] is laid out as [r0, d0, r1, d1, ..] reading in with stride 0 on
  // r.
  std::vector<int64_t> dims, strides;
  for (size_t k = 0; k < r; ++k) {
    dims.insert(dims.end(), {reps[k], in.dim(k)});
    strides.insert(strides.end(), {0, is[k]});
  }
  Tensor view = out.reshaped(dims);
  copy_view(in, view, strides, 0);
}

void run_pad(ExecContext& c) {
  const Tensor& in = c.in(0);
  Tensor& out = c.out(0);
  int64_t r = int64_t(in.rank());
  if (r > kernels::kMaxCopyRank) fail<UnsupportedError>("Pad of rank ", r);
  auto pads = c.in(1).to_int64();
  std::vector<int64_t> axes;
  if (c.has(3)) axes = c.in(3).to_int64();
  else
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  std::vector<int64_t> begin(size_t(r), 0);
  for (size_t i = 0; i < axes.size(); ++i) begin[size_t(normalize_axis(axes[i], r))] = pads[i];
  std::string mode = c.attrs().get_string_or("mode", "constant");
  kernels::PadParams p;
  p.rank = int(r);
  p.in_dims = in.dims().data();
  p.out_dims = out.dims().data();
  p.begin = begin.data();
  p.elem_size = dtype_size(in.dtype());
  p.mode = mode == "reflect" ? kernels::PadMode::reflect
           : mode == "edge"  ? kernels::PadMode::edge
           : mode == "wrap"  ? kernels::PadMode::wrap
                             : kernels::PadMode::constant;
  uint64_t zero = 0;
  p.value = c.has(2) && c.in(2).numel() > 0 ? c.in(2).raw() : &zero;
  if (p.mode != kernels::PadMode::constant && in.numel() == 0 && out.numel() > 0)
    fail<InvalidArgument>(c.node.describe(), ": cannot ", mode, "-pad an empty tensor ", in.shape().str());
  if (r == 0) {
    std::memcpy(out.raw(), in.raw(), p.elem_size);
    return;
  }
  kernels::pad(in.raw(), out.raw(), p);
}

/// Maps output coordinate x of a dim to the source coordinate (ONNX coordinate transforms).
/// `out_n` is the resized length before flooring (in·scale when scales are given), as the
/// ONNX reference uses it for align_corners and pytorch_half_pixel.
double source_coord(const std::string& ct, double x, double scale, int64_t in_n, int64_t out_int, double out_n) {
  if (ct == "asymmetric") return x / scale;
  if (ct == "align_corners") return out_n == 1 ? 0.0 : x * double(in_n - 1) / (out_n - 1);
  if (ct == "pytorch_half_pixel") return out_n > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (ct == "tf_half_pixel_for_nearest") return (x + 0.5) / scale;
  if (ct == "half_pixel_symmetric") {
    double adj = double(out_int) / (scale * double(in_n));
    double offset = double(in_n) / 2 * (1 - adj);
    return offset + (x + 0.5) / scale - 0.5;
  }
  return (x + 0.5) / scale - 0.5;  // half_pixel
}

int64_t nearest_index(const std::string& nm, double x) {
  double f = std::floor(x);
  if (nm == "floor") return int64_t(f);
  if (nm == "ceil") return int64_t(std::ceil(x));
  if (x - f == 0.5) return int64_t(nm == "round_prefer_ceil" ? f + 1 : f);
  return int64_t(std::round(x));
}

void run_resize(ExecContext& c) {
  const Tensor& in = c.in(0);
  Tensor& out = c.out(0);
  size_t r = in.rank();
  if (r > size_t(kernels::kMaxResizeRank)) fail<UnsupportedError>("Resize of rank ", r);
  const Attributes& a = c.attrs();
  std::string mode = a.get_string_or("mode", "nearest");
  std::string ct = a.get_string_or("coordinate_transformation_mode", "half_pixel");
  std::string nm = a.get_string_or("nearest_mode", "round_prefer_floor");
  std::vector<int64_t> axes;
  if (a.has("axes")) {
    for (int64_t ax : a.get_ints("axes")) axes.push_back(normalize_axis(ax, int64_t(r)));
  } else {
    for (size_t i = 0; i < r; ++i) axes.push_back(int64_t(i));
  }
  std::vector<double> scale(r, 1.0), len(r);
  for (size_t d = 0; d < r; ++d) len[d] = double(out.dim(d));
  bool use_scales = c.has(2) && c.in(2).numel() > 0;
  std::vector<float> given = use_scales ? c.in(2).to_float() : std::vector<float>{};
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t d = size_t(axes[i]);
    scale[d] = use_scales ? double(given[i]) : double(out.dim(d)) / double(in.dim(d));
    if (use_scales) len[d] = double(in.dim(d)) * scale[d];
  }
  if (out.numel() == 0) return;
  if (in.numel() == 0) fail<InvalidArgument>(c.node.describe(), ": cannot resize an empty tensor");
  std::vector<std::vector<int64_t>> lo(r), hi(r);
  std::vector<std::vector<float>> w(r);
  std::vector<const int64_t*> lo_p(r), hi_p(r);
  std::vector<const float*> w_p(r);
  for (size_t d = 0; d < r; ++d) {
    int64_t in_n = in.dim(d), out_n = out.dim(d);
    lo[d].resize(size_t(out_n));
    hi[d].resize(size_t(out_n));
    w[d].resize(size_t(out_n));
    for (int64_t x = 0; x < out_n; ++x) {
      double s = in_n == out_n && scale[d] == 1.0 ? double(x)
                                                  : source_coord(ct, double(x), scale[d], in_n, out_n, len[d]);
      if (mode == "nearest") {
        lo[d][size_t(x)] = std::clamp<int64_t>(nearest_index(nm, s), 0, in_n - 1);
      } else {
        double f = std::floor(s);
        int64_t l = std::clamp<int64_t>(int64_t(f), 0, in_n - 1),
                h = std::clamp<int64_t>(int64_t(f) + 1, 0, in_n - 1);
        lo[d][size_t(x)] = l;
        hi[d][size_t(x)] = h;
        w[d][size_t(x)] = l == h ? 0.f : float(s - f);
      }
    }
    lo_p[d] = lo[d].data();
    hi_p[d] = hi[d].data();
    w_p[d] = w[d].data();
  }
  // rows [b, e) of the outermost output dim above 1: large outputs split over the session's threads
  size_t d0 = 0;
  while (d0 + 1 < r && out.dim(d0) == 1) ++d0;
  const int64_t n0 = r ? out.dim(d0) : 1, inner = out.numel() / n0;
  const size_t es = dtype_size(in.dtype());
  auto rows = [&](int64_t b, int64_t e) {
    std::vector<int64_t> dims = out.dims();
    std::vector<const int64_t*> lo_b = lo_p, hi_b = hi_p;
    std::vector<const float*> w_b = w_p;
    if (r) {
      dims[d0] = e - b;
      lo_b[d0] += b;
      hi_b[d0] += b;
      w_b[d0] += b;
    }
    void* dst = static_cast<std::byte*>(out.raw()) + size_t(b * inner) * es;
    if (mode == "nearest") {
      kernels::ResizeNearestParams p{int(r), in.dims().data(), dims.data(), lo_b.data(), es};
      kernels::resize_nearest(in.raw(), dst, p);
    } else {
      kernels::ResizeLinearParams p{int(r), in.dims().data(), dims.data(), lo_b.data(), hi_b.data(), w_b.data()};
      switch (in.dtype()) {
        case DType::f32: kernels::resize_linear(in.data<float>(), static_cast<float*>(dst), p); break;
        case DType::u8: kernels::resize_linear(in.data<uint8_t>(), static_cast<uint8_t*>(dst), p); break;
        case DType::i8: kernels::resize_linear(in.data<int8_t>(), static_cast<int8_t*>(dst), p); break;
        default:
          fail<UnsupportedError>(c.node.describe(), ": linear Resize of ", dtype_name(in.dtype()),
                                 " is not supported");
      }
    }
  };
  const int64_t tasks = std::min<int64_t>({step_threads(c), n0, out.numel() / kMinParallelElements});
  if (tasks <= 1) return rows(0, n0);
  c.pool->parallel_for(size_t(tasks), [&](size_t t) {
    const int64_t b = n0 * int64_t(t) / tasks, e = n0 * int64_t(t + 1) / tasks;
    if (e > b) rows(b, e);
  });
}

void run_identity(ExecContext& c) { c.outputs[0] = c.in(0); }

void run_dropout(ExecContext& c) {
  c.outputs[0] = c.in(0);
  if (c.outputs.size() > 1) {
    bool t = true;
    kernels::fill(c.out(1).raw(), &t, 1, c.out(1).numel());
  }
}

template <class T>
void range_typed(ExecContext& c) {
  T start = c.in(0).data<T>()[0], delta = c.in(2).data<T>()[0];
  T* o = c.out(0).data<T>();
  for (int64_t i = 0; i < c.out(0).numel(); ++i) o[i] = T(start + T(i) * delta);
}

void run_range(ExecContext& c) {
  switch (c.in(0).dtype()) {
    case DType::f32: return range_typed<float>(c);
    case DType::f64: return range_typed<double>(c);
    case DType::i16: return range_typed<int16_t>(c);
    case DType::i32: return range_typed<int32_t>(c);
    case DType::i64: return range_typed<int64_t>(c);
    default: fail<UnsupportedError>(c.node.describe(), ": Range of ", dtype_name(c.in(0).dtype()));
  }
}

}  // namespace

void register_shape_exec() {
  for (OpKind op : {OpKind::Reshape, OpKind::Flatten, OpKind::Squeeze, OpKind::Unsqueeze})
    set_executor(op, {run_view, nullptr});
  set_executor(OpKind::Transpose, {run_transpose, nullptr});
  set_executor(OpKind::Concat, {run_concat, nullptr});
  set_executor(OpKind::Split, {run_split, nullptr});
  set_executor(OpKind::Slice, {run_slice, nullptr});
  set_executor(OpKind::Gather, {run_gather, nullptr});
  set_executor(OpKind::Shape, {run_shape, nullptr});
  set_executor(OpKind::Size, {run_size, nullptr});
  set_executor(OpKind::ConstantOfShape, {run_constant_of_shape, nullptr});
  set_executor(OpKind::Expand, {run_expand, nullptr});
  set_executor(OpKind::Tile, {run_tile, nullptr});
  set_executor(OpKind::Pad, {run_pad, nullptr});
  set_executor(OpKind::Resize, {run_resize, nullptr});
  set_executor(OpKind::Identity, {run_identity, nullptr});
  set_executor(OpKind::Dropout, {run_dropout, nullptr});
  set_executor(OpKind::Range, {run_range, nullptr});
}

}  // namespace mq::ops
