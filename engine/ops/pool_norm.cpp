// Executors for pooling and normalization.
#include <memory>
#include <type_traits>
#include <vector>

#include "engine/ops/parallel.h"
#include "engine/ops/window_attrs.h"
#include "engine/executor.h"
#include "kernels/fp32/conv.h"
#include "kernels/fp32/norm.h"
#include "kernels/fp32/pool.h"
#include "kernels/fp32/pool_dnnl.h"
#include "kernels/layout.h"
#include "engine/ops/plan_cache.h"

namespace mq::ops {

namespace {
bool nhwc(const ExecContext& c) { return c.attrs().get_string_or("layout", "NCHW") == "NHWC"; }

// Pool geometry from the attributes, with 1 or 2 spatial dims padded to 3.
kernels::PoolParams pool_params(const ExecContext& c) {
  const Attributes& at = c.attrs();
  const Tensor& x = c.in(0);
  const auto kernel = at.get_ints("kernel_shape");
  const size_t nd = kernel.size();
  const auto strides = at.get_ints_or("strides", std::vector<int64_t>(nd, 1));
  const auto dil = at.get_ints_or("dilations", std::vector<int64_t>(nd, 1));
  const auto pads = at.get_ints_or("pads", std::vector<int64_t>(2 * nd, 0));
  const int ap = auto_pad_code(at.get_string_or("auto_pad", "NOTSET"));
  const bool ceil_mode = at.get_int_or("ceil_mode", 0) != 0;
  kernels::PoolParams p;
  const size_t first = nhwc(c) ? 1 : 2;  // the first spatial dim
  p.nc = x.dim(0) * x.dim(nhwc(c) ? 3 : 1);
  const size_t off = 3 - nd;
  for (size_t d = 0; d < nd; ++d) {
    auto g = kernels::spatial_geometry(x.dim(first + d), kernel[d], strides[d], dil[d], pads[d], pads[d + nd], ap,
                                       ceil_mode);
    if (g.out !=
        c.outputs.at(0).dim(first + d))  // the kernel writes what its geometry says: never past the output
      fail<ShapeError>(c.node.describe(), ": pooling geometry gives ", g.out, " outputs where inference gave ",
                       c.outputs.at(0).dim(first + d));
    p.in[off + d] = x.dim(first + d);
    p.out[off + d] = g.out;
    p.kernel[off + d] = kernel[d];
    p.stride[off + d] = strides[d];
    p.dilation[off + d] = dil[d];
    p.pad_begin[off + d] = g.pad_begin;
    p.pad_end[off + d] = g.pad_end;
  }
  p.count_include_pad = at.get_int_or("count_include_pad", 0) != 0;
  p.column_major_indices = at.get_int_or("storage_order", 0) == 1;
  return p;
}

using PoolState = PlanCache<kernels::DnnlPool>;
std::shared_ptr<void> prepare_pool(const Node&) { return std::make_shared<PoolState>(); }

/// fp32 2-D pooling without indices: oneDNN (NCHW or NHWC); an NHWC pooling oneDNN cannot
/// build runs the NCHW kernels on a transposed copy. False: not such a pooling.
bool run_pool_2d(ExecContext& c, const kernels::PoolParams& p, bool is_max) {
  const Tensor& x = c.in(0);
  Tensor& y = c.out(0);
  if (x.dtype() != DType::f32 || x.rank() != 4 || c.outputs.size() > 1) return false;
  const bool nc_last = nhwc(c);
  const int64_t batch = x.dim(0), channels = x.dim(nc_last ? 3 : 1);
  if (y.numel() == 0) return true;
  std::vector<int64_t> key = x.dims();
  double window = 1;
  for (int64_t k : p.kernel) window *= double(k);
  const int threads = kernel_threads(c, double(y.numel()) * window);
  key.push_back(threads);
  auto make = [&] { return kernels::DnnlPool::create(p, batch, channels, is_max, nc_last, threads); };
  auto plan =
      c.state ? static_cast<PoolState*>(c.state)->get(key, make) : std::shared_ptr<kernels::DnnlPool>(make());
  if (plan && plan->run(x.data<float>(), y.data<float>())) return true;
  if (!nc_last) return false;
  const int64_t hw_in = x.dim(1) * x.dim(2), hw_out = y.dim(1) * y.dim(2);
  std::vector<float> xt(size_t(x.numel())), yt(size_t(y.numel()));
  kernels::nhwc_to_nchw_f32(x.data<float>(), size_t(batch), size_t(channels), size_t(hw_in), xt.data());
  if (is_max) kernels::max_pool(p, xt.data(), yt.data(), static_cast<int64_t*>(nullptr));
  else kernels::avg_pool(p, xt.data(), yt.data());
  kernels::nchw_to_nhwc_f32(yt.data(), size_t(batch), size_t(channels), size_t(hw_out), y.data<float>());
  return true;
}

void run_max_pool(ExecContext& c) {
  const kernels::PoolParams p = pool_params(c);
  if (nhwc(c) && c.in(0).dtype() != DType::f32 && c.outputs.size() == 1) {  // int8 data in a compiled plan
    const Tensor& x = c.in(0);
    if (x.dtype() == DType::u8) kernels::max_pool_nhwc(p, x.dim(3), x.data<uint8_t>(), c.out(0).data<uint8_t>());
    else if (x.dtype() == DType::i8)
      kernels::max_pool_nhwc(p, x.dim(3), x.data<int8_t>(), c.out(0).data<int8_t>());
    else fail<UnsupportedError>(c.node.describe(), ": dtype ", dtype_name(x.dtype()), " is not supported");
    return;
  }
  if (run_pool_2d(c, p, true)) return;
  int64_t* idx = c.outputs.size() > 1 ? c.out(1).data<int64_t>() : nullptr;
  const Tensor& x = c.in(0);
  switch (x.dtype()) {
    case DType::f32: kernels::max_pool(p, x.data<float>(), c.out(0).data<float>(), idx); break;
    case DType::u8: kernels::max_pool(p, x.data<uint8_t>(), c.out(0).data<uint8_t>(), idx); break;
    case DType::i8: kernels::max_pool(p, x.data<int8_t>(), c.out(0).data<int8_t>(), idx); break;
    default: fail<UnsupportedError>(c.node.describe(), ": dtype ", dtype_name(x.dtype()), " is not supported");
  }
}

/// The zero point of an int8 average's input (AveragePool, GlobalAveragePool): its result
/// keeps the input's per-tensor quantization (an average stays within the input's range).
int32_t int8_average_zero_point(const ExecContext& c) {
  const auto& qi = c.node.input(0)->type().quant;
  const auto& qo = c.node.output(0)->type().quant;
  if (!qi || !qo || qi->per_channel() || qi->scales != qo->scales || qi->zero_points != qo->zero_points)
    fail<UnsupportedError>(c.node.describe(),
                           ": an int8 average or maximum must keep its input's per-tensor quantization");
  return qi->zero_points.at(0);
}

/// AveragePool of int8 values of type T (NCHW, or NHWC in a compiled plan).
template <class T>
void int8_avg_pool(ExecContext& c, const kernels::PoolParams& p) {
  const int32_t zp = int8_average_zero_point(c);
  const Tensor& x = c.in(0);
  if (nhwc(c)) kernels::avg_pool_nhwc(p, x.dim(3), x.data<T>(), c.out(0).data<T>(), zp);
  else kernels::avg_pool(p, x.data<T>(), c.out(0).data<T>(), zp);
}

void run_avg_pool(ExecContext& c) {
  const kernels::PoolParams p = pool_params(c);
  if (c.in(0).dtype() == DType::u8) return int8_avg_pool<uint8_t>(c, p);
  if (c.in(0).dtype() == DType::i8) return int8_avg_pool<int8_t>(c, p);
  if (run_pool_2d(c, p, false)) return;
  kernels::avg_pool(p, c.in(0).data<float>(), c.out(0).data<float>());
}

void run_global(ExecContext& c, bool is_max) {
  const Tensor& x = c.in(0);
  if (x.dtype() == DType::u8 || x.dtype() == DType::i8) {
    int8_average_zero_point(c);  // checks the quantization: the zero point cancels out
    const bool last = c.attrs().get_string_or("layout", "NCHW") == "NHWC";
    const int64_t n = x.dim(0), ch = x.dim(last ? x.rank() - 1 : 1);
    const int64_t spatial = n * ch == 0 ? 0 : x.numel() / (n * ch);
    auto pool = [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      if (is_max) kernels::global_max_pool_int8(x.data<T>(), c.out(0).data<T>(), n, spatial, ch, last);
      else kernels::global_avg_pool_int8(x.data<T>(), c.out(0).data<T>(), n, spatial, ch, last);
    };
    if (x.dtype() == DType::u8) pool(static_cast<uint8_t*>(nullptr));
    else pool(static_cast<int8_t*>(nullptr));
    return;
  }
  if (c.attrs().get_string_or("layout", "NCHW") == "NHWC") {
    const int64_t n = x.dim(0), ch = x.dim(x.rank() - 1);
    const int64_t spatial = n * ch == 0 ? 0 : x.numel() / (n * ch);
    kernels::global_pool_nhwc_f32(x.data<float>(), c.out(0).data<float>(), n, spatial, ch, is_max);
    return;
  }
  const int64_t nc = x.dim(0) * x.dim(1);
  const int64_t spatial = nc == 0 ? 0 : x.numel() / nc;
  const float* px = x.data<float>();
  float* py = c.out(0).data<float>();
  // channels split over the threads (a channel's result does not depend on the split)
  const int64_t tasks = std::min<int64_t>({step_threads(c), nc, spatial ? x.numel() / kMinParallelElements : 0});
  auto body = [&](size_t t) {
    const int64_t parts = std::max<int64_t>(1, tasks);
    const int64_t b = nc * int64_t(t) / parts, e = nc * int64_t(t + 1) / parts;
    if (is_max) kernels::global_max_pool_f32(px + b * spatial, py + b, e - b, spatial);
    else kernels::global_avg_pool_f32(px + b * spatial, py + b, e - b, spatial);
  };
  if (tasks > 1) c.pool->parallel_for(size_t(tasks), body);
  else body(0);
}
void run_global_avg(ExecContext& c) { run_global(c, false); }
void run_global_max(ExecContext& c) { run_global(c, true); }

void run_batch_norm(ExecContext& c) {
  const Tensor& x = c.in(0);
  const int64_t n = x.dim(0), ch = x.dim(1);
  const int64_t spatial = n * ch == 0 ? 0 : x.numel() / (n * ch);
  kernels::batch_norm_f32(x.data<float>(), c.in(1).data<float>(), c.in(2).data<float>(), c.in(3).data<float>(),
                          c.in(4).data<float>(), c.attrs().get_float_or("epsilon", 1e-5f), c.out(0).data<float>(),
                          n, ch, spatial);
}

void run_instance_norm(ExecContext& c) {
  const Tensor& x = c.in(0);
  const int64_t n = x.dim(0), ch = x.dim(1);
  const int64_t spatial = n * ch == 0 ? 0 : x.numel() / (n * ch);
  kernels::instance_norm_f32(x.data<float>(), c.in(1).data<float>(), c.in(2).data<float>(),
                             c.attrs().get_float_or("epsilon", 1e-5f), c.out(0).data<float>(), n, ch, spatial);
}

// Expands a tensor broadcastable to `dims` (right-aligned) into dims' full element count.
std::vector<float> expand_to(const Tensor& t, const std::vector<int64_t>& dims) {
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  std::vector<float> out(static_cast<size_t>(total), 0.f);
  const float* v = t.data<float>();
  const size_t r = dims.size(), tr = t.rank();
  for (int64_t i = 0; i < total; ++i) {
    int64_t rem = i, src = 0, stride = 1;
    for (size_t k = r; k-- > 0;) {
      const int64_t idx = rem % dims[k];
      rem /= dims[k];
      const size_t from_end = r - 1 - k;
      if (from_end < tr) {
        const int64_t td = t.dim(tr - 1 - from_end);
        if (td != 1) src += idx * stride;
        stride *= td;
      }
    }
    out[size_t(i)] = v[src];
  }
  return out;
}

void run_layer_norm(ExecContext& c) {
  const Tensor& x = c.in(0);
  const int64_t axis = normalize_axis(c.attrs().get_int_or("axis", -1), int64_t(x.rank()));
  const std::vector<int64_t> norm_dims(x.dims().begin() + axis, x.dims().end());
  int64_t cols = 1;
  for (int64_t d : norm_dims) cols *= d;
  const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
  const Tensor& scale = c.in(1);
  std::vector<float> s, b;
  const float* sp = scale.data<float>();
  if (scale.numel() != cols) {
    s = expand_to(scale, norm_dims);
    sp = s.data();
  }
  const float* bp = c.has(2) ? c.in(2).data<float>() : nullptr;
  if (bp && c.in(2).numel() != cols) {
    b = expand_to(c.in(2), norm_dims);
    bp = b.data();
  }
  kernels::layer_norm_f32(x.data<float>(), sp, bp, c.attrs().get_float_or("epsilon", 1e-5f),
                          c.out(0).data<float>(), c.outputs.size() > 1 ? c.out(1).data<float>() : nullptr,
                          c.outputs.size() > 2 ? c.out(2).data<float>() : nullptr, rows, cols);
}
}  // namespace

void register_pool_norm_exec() {
  set_executor(OpKind::MaxPool, {run_max_pool, prepare_pool});
  set_executor(OpKind::AveragePool, {run_avg_pool, prepare_pool});
  set_executor(OpKind::GlobalAveragePool, {run_global_avg, nullptr});
  set_executor(OpKind::GlobalMaxPool, {run_global_max, nullptr});
  set_executor(OpKind::BatchNormalization, {run_batch_norm, nullptr});
  set_executor(OpKind::InstanceNormalization, {run_instance_norm, nullptr});
  set_executor(OpKind::LayerNormalization, {run_layer_norm, nullptr});
}

}  // namespace mq::ops
