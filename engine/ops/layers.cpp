// Executors for layers: Linear, Gemm, MatMul, Conv2d; LSTM, GRU and RNN are in recurrent.cpp.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/ops/batch_products.h"
#include "engine/ops/panel_weights.h"
#include "engine/ops/parallel.h"
#include "engine/ops/recurrent.h"
#include "engine/ops/window_attrs.h"
#include "engine/executor.h"
#include "engine/thread_pool.h"
#include "kernels/sgemm.h"
#include "kernels/sgemm_panels.h"
#include "kernels/fp32/conv.h"
#include "kernels/fp32/conv_dnnl.h"
#include "kernels/fp32/linear_dnnl.h"
#include "kernels/fp32/gemm.h"
#include "kernels/layout.h"

namespace mq::ops {

namespace {
int64_t product(const std::vector<int64_t>& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= d[i];
  return p;
}

kernels::LayerEpilogue layer_epilogue(const Node& n) {
  using A = kernels::LayerActivation;
  static const std::map<std::string, A> kinds = {{"", A::none},
                                                 {"Relu", A::relu},
                                                 {"LeakyRelu", A::leaky_relu},
                                                 {"Clip", A::clip},
                                                 {"Sigmoid", A::sigmoid},
                                                 {"Tanh", A::tanh},
                                                 {"Silu", A::silu},
                                                 {"HardSwish", A::hard_swish},
                                                 {"HardSigmoid", A::hard_sigmoid},
                                                 {"Gelu", A::gelu},
                                                 {"GeluTanh", A::gelu_tanh}};
  kernels::LayerEpilogue e;
  e.act = kinds.at(n.attrs().get_string_or("activation", ""));
  e.alpha = n.attrs().get_float_or("activation_alpha", 0.f);
  e.beta = n.attrs().get_float_or("activation_beta", 0.f);
  e.residual = n.inputs().size() > 3 && n.input(3);
  e.residual_first = n.attrs().get_int_or("residual_first", 0) != 0;
  return e;
}

std::shared_ptr<void> prepare_linear(const Node& n) {
  auto st = std::make_shared<LinearState>();
  if (n.input(0) && n.input(0)->dtype() == DType::boolean) {  // a 0/1 mask: sums of weight columns
    if (!n.input(1) || !n.input(1)->is_constant() || n.input(1)->dtype() != DType::f32)
      fail<UnsupportedError>(n.describe(), ": a bool input needs a constant f32 weight");
    const Tensor& w = *n.input(1)->constant();
    const int64_t out = w.dim(0), in = w.dim(1);
    st->wt.resize(size_t(out * in));
    const float* pw = w.data<float>();
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i) st->wt[size_t(i * out + o)] = pw[o * in + i];
  }
  return st;
}

/// Linear of a bool mask (a one-hot encoding; a compiled plan folds its Cast to float in):
/// each row the sum of the weight columns its mask selects, rows split over the threads.
void run_mask_linear(ExecContext& c, const LinearState& st, int64_t m, int64_t n, int64_t k, const float* bias,
                     float* y) {
  const auto* mask = static_cast<const uint8_t*>(c.in(0).raw());
  const size_t threads = c.pool ? c.pool->size() : 1;
  const size_t tasks = std::min<size_t>({threads, size_t(m), size_t(std::max<int64_t>(1, m * n / (1 << 14)))});
  auto body = [&](size_t t) {
    kernels::masked_row_sums(mask, st.wt.data(), bias, y, m * int64_t(t) / int64_t(tasks),
                             m * int64_t(t + 1) / int64_t(tasks), k, n);
  };
  if (tasks > 1) c.pool->parallel_for(tasks, body);
  else body(0);
}

/// Rows below which a Linear's oneDNN call is not split into blocks over the threads.
constexpr int64_t kMinRowBlock = 64;

/// y[m×n] = x[m×k]·Wᵀ + bias through sgemm_panels, the panels split over the session's threads.
void run_panels(ExecContext& c, const PanelWeights& pw, int64_t m, int64_t n, int64_t k, const float* x,
                const float* bias, float* y) {
  const size_t panels = (size_t(n) + kernels::kSgemmPanelWidth - 1) / kernels::kSgemmPanelWidth;
  // several panel ranges per thread, so that a worker that starts late finds work left to
  // share rather than one range the caller must wait for; few rows stream the weights, so
  // their bytes count as work too (a 512 KiB layer at one row is done before a second thread
  // would have joined)
  const size_t threads = size_t(kernel_threads(
      c, std::max(2.0 * double(m) * double(n) * double(k), 4.0 * double(n) * double(k) * double(sizeof(float)))));
  const size_t tasks = threads > 1 ? std::min(threads * size_t(kChunksPerThread), panels) : 1;
  const auto fn = kernels::sgemm_panels_active().fn;
  const size_t scratch_floats = kernels::sgemm_panels_scratch_floats(size_t(m), size_t(k));
  auto body = [&](size_t t) {
    thread_local std::vector<float> scratch;  // kept between calls
    if (scratch.size() < scratch_floats) scratch.resize(scratch_floats);
    fn(size_t(m), size_t(n), size_t(k), x, size_t(k), pw.packed.data(), panels * t / tasks,
       panels * (t + 1) / tasks, bias, y, size_t(n), scratch.data());
  };
  if (tasks > 1) c.pool->parallel_for(tasks, body);
  else body(0);
}

void run_linear(ExecContext& c) {
  const Tensor& x = c.in(0);
  const Tensor& w = c.in(1);
  const int64_t n = w.dim(0), k = w.dim(1);
  const int64_t m = product(x.dims(), 0, x.rank() - 1);
  const float* bias = c.has(2) ? c.in(2).data<float>() : nullptr;
  float* y = c.out(0).data<float>();
  if (m == 0 || n == 0) return;
  const kernels::LayerEpilogue e = layer_epilogue(c.node);
  if (e.residual && c.in(3).dims() != c.out(0).dims())
    fail<ShapeError>(c.node.describe(), ": residual ", c.in(3).shape().str(), " does not have the output's shape ",
                     c.out(0).shape().str(),
                     " (a broadcasting Add cannot be fused; build the Session with "
                     "SessionOptions::optimize = false)");
  const float* z = e.residual ? c.in(3).data<float>() : nullptr;
  if (x.dtype() == DType::boolean) {
    const auto* st = static_cast<const LinearState*>(c.state);
    if (!st || st->wt.size() != size_t(n * k))
      fail<UnsupportedError>(c.node.describe(), ": a bool input needs the weight it was prepared with");
    run_mask_linear(c, *st, m, n, k, bias, y);
    kernels::apply_layer_epilogue(e, y, z, m * n);
    return;
  }
  if (k == 0) {
    kernels::linear_f32(x.data<float>(), w.data<float>(), bias, y, m, k, n);
    kernels::apply_layer_epilogue(e, y, z, m * n);
    return;
  }
  // constant weights: oneDNN's matmul on weights reordered once, on the Session's threads;
  // few rows over large weights: sgemm_panels on weights packed once
  if (auto* st = static_cast<LinearState*>(c.state);
      st && c.node.input(1)->is_constant() && (!c.has(2) || c.node.input(2)->is_constant())) {
    if (use_panels(m, n, k)) {
      auto pw = pack_panels(*st, {}, w.data<float>(), n, k);
      run_panels(c, *pw, m, n, k, x.data<float>(), bias, y);
      kernels::apply_layer_epilogue(e, y, z, m * n);
      return;
    }
    // many rows on several threads: blocks of rows on the session's pool, each a one-thread
    // oneDNN call, so that a thread that starts late holds no one up (oneDNN's own libgomp
    // team splits the rows statically and its end barrier waits for every thread)
    const int threads = kernel_threads(c, 2.0 * double(m) * double(n) * double(k));
    const int64_t blocks = threads > 1 ? std::min<int64_t>(threads * kChunksPerThread, m / kMinRowBlock) : 1;
    const int plan_threads = blocks > 1 ? 1 : threads;
    auto plan = st->dnnl.get(
        {plan_threads}, [&] { return kernels::DnnlLinear::create(n, k, w.data<float>(), bias, e, plan_threads); });
    if (plan) {
      if (z && z != y) std::copy(z, z + m * n, y);
      if (blocks <= 1 && plan->run(m, x.data<float>(), y)) return;
      if (blocks > 1) {
        const int64_t rows = (m + blocks - 1) / blocks;
        std::atomic<bool> ok{true};
        c.pool->parallel_for(size_t(blocks), [&](size_t t) {
          const int64_t b = int64_t(t) * rows, e = std::min(m, b + rows);
          if (e > b && !plan->run(e - b, x.data<float>() + b * k, y + b * n)) ok = false;
        });
        if (ok) return;
      }
    }
  }
  // kernels::sgemm otherwise; rows are split over the session's threads when each gets
  // enough work
  const size_t threads = c.pool ? c.pool->size() : 1;
  const size_t rows = size_t(m);
  const size_t tasks = std::min<size_t>({threads, rows, size_t(std::max<int64_t>(1, m * n * k / (1 << 17)))});
  auto body = [&](size_t t) {
    kernels::sgemm(rows * t / tasks, rows * (t + 1) / tasks, size_t(n), size_t(k), x.data<float>(), size_t(k),
                   w.data<float>(), size_t(k), bias, y, size_t(n));
  };
  if (tasks > 1) c.pool->parallel_for(tasks, body);
  else body(0);
  kernels::apply_layer_epilogue(e, y, z, m * n);
}

void run_gemm(ExecContext& c) {
  const Tensor& a = c.in(0);
  const Tensor& b = c.in(1);
  kernels::GemmParams p;
  p.trans_a = c.attrs().get_int_or("transA", 0) != 0;
  p.trans_b = c.attrs().get_int_or("transB", 0) != 0;
  p.alpha = c.attrs().get_float_or("alpha", 1.f);
  const float beta = c.attrs().get_float_or("beta", 1.f);
  p.m = a.dim(p.trans_a ? 1 : 0);
  p.k = a.dim(p.trans_a ? 0 : 1);
  p.n = b.dim(p.trans_b ? 0 : 1);
  float* y = c.out(0).data<float>();
  if (c.has(2) && beta != 0.f) {
    // Broadcast C into Y, then accumulate the product on top of beta·C.
    const Tensor& ct = c.in(2);
    const float* cv = ct.data<float>();
    const int64_t cm = ct.rank() == 2 ? ct.dim(0) : 1;
    const int64_t cn = ct.rank() >= 1 ? ct.dim(ct.rank() - 1) : 1;
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) y[i * p.n + j] = cv[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
    p.beta = beta;
  }
  kernels::gemm_f32(p, a.data<float>(), b.data<float>(), y);
}

void run_matmul(ExecContext& c) {
  const Tensor& a = c.in(0);
  const Tensor& b = c.in(1);
  std::vector<int64_t> ad = a.dims(), bd = b.dims();
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  float* yp = c.out(0).data<float>();
  kernels::GemmParams p;
  p.k = k;
  p.n = n;
  if (bd.size() == 2) {  // one GEMM over every row of A
    p.m = product(ad, 0, ad.size() - 1);
    kernels::gemm_f32(p, ap, bp, yp);
    return;
  }
  p.m = m;
  for_each_batch_product(ad, bd, [&](int64_t ai, int64_t bi, int64_t yi) {
    kernels::gemm_f32(p, ap + ai * m * k, bp + bi * k * n, yp + yi * m * n);
  });
}

/// Outputs up to this many floats (8 MiB: still in the L3 cache when the convolution ends)
/// take their SiLU after the convolution rather than in oneDNN's epilogue.
constexpr int64_t kSiluAfterMaxElements = int64_t(1) << 21;

/// A Conv2d's oneDNN primitives, one per input shape and thread count, built on first use
/// (weights constant) and kept for the Session.
using ConvState = PlanCache<kernels::DnnlConv>;

std::shared_ptr<void> prepare_conv2d(const Node&) { return std::make_shared<ConvState>(); }

void run_conv2d(ExecContext& c) {
  const Tensor& x = c.in(0);
  const Tensor& w = c.in(1);
  const Attributes& at = c.attrs();
  const bool nhwc = at.get_string_or("layout", "NCHW") == "NHWC";
  const auto strides = at.get_ints_or("strides", {1, 1});
  const auto dil = at.get_ints_or("dilations", {1, 1});
  const auto pads = at.get_ints_or("pads", {0, 0, 0, 0});
  const int ap = auto_pad_code(at.get_string_or("auto_pad", "NOTSET"));
  kernels::Conv2dParams p;
  p.n = x.dim(0);
  p.c = x.dim(nhwc ? 3 : 1);
  p.h = x.dim(nhwc ? 1 : 2);
  p.w = x.dim(nhwc ? 2 : 3);
  p.m = w.dim(0);
  p.kh = w.dim(2);
  p.kw = w.dim(3);
  p.group = at.get_int_or("group", 1);
  p.stride_h = strides[0];
  p.stride_w = strides[1];
  p.dil_h = dil[0];
  p.dil_w = dil[1];
  auto gh = kernels::spatial_geometry(p.h, p.kh, p.stride_h, p.dil_h, pads[0], pads[2], ap, false);
  auto gw = kernels::spatial_geometry(p.w, p.kw, p.stride_w, p.dil_w, pads[1], pads[3], ap, false);
  p.oh = gh.out;
  p.ow = gw.out;
  p.pad_top = gh.pad_begin;
  p.pad_left = gw.pad_begin;
  Tensor& y = c.out(0);  // the kernel writes its own geometry: it must be the output's
  const std::vector<int64_t> want =
      nhwc ? std::vector<int64_t>{p.n, p.oh, p.ow, p.m} : std::vector<int64_t>{p.n, p.m, p.oh, p.ow};
  if (y.dims() != want)
    fail<ShapeError>(c.node.describe(), ": output ", y.shape().str(),
                     " does not match the convolution's geometry");
  const kernels::LayerEpilogue e = layer_epilogue(c.node);
  if (e.residual && c.in(3).dims() != y.dims())
    fail<ShapeError>(c.node.describe(), ": residual ", c.in(3).shape().str(), " does not have the output's shape ",
                     y.shape().str(),
                     " (a broadcasting Add cannot be fused; build the Session with "
                     "SessionOptions::optimize = false)");
  const float* z = e.residual ? c.in(3).data<float>() : nullptr;
  if (y.numel() == 0) return;
  const float* bias = c.has(2) ? c.in(2).data<float>() : nullptr;

  // oneDNN: one primitive per input shape, cached while the weights are constants. A SiLU over
  // an output that stays in cache runs after it, as one vectorized pass split over the threads
  // (oneDNN's swish post-op costs about twice as much per element); larger outputs keep it
  // in oneDNN's epilogue, where the data is in registers.
  const bool silu_after = e.act == kernels::LayerActivation::silu && y.numel() <= kSiluAfterMaxElements;
  kernels::LayerEpilogue in_dnnl = e, after;
  if (silu_after) {
    in_dnnl.act = kernels::LayerActivation::none;
    in_dnnl.residual = e.residual && e.residual_first;  // conv + z, then SiLU
    after.act = e.act;
    after.residual = e.residual && !e.residual_first;  // SiLU(conv), then + z
  }
  std::shared_ptr<kernels::DnnlConv> plan;
  auto* st = static_cast<ConvState*>(c.state);
  const int threads = kernel_threads(
      c, 2.0 * double(y.numel()) * double(p.c / std::max<int64_t>(1, p.group)) * double(p.kh) * double(p.kw));
  auto make = [&] { return kernels::DnnlConv::create(p, nhwc, w.data<float>(), bias, in_dnnl, threads); };
  if (st && c.node.input(1)->is_constant() && (!c.has(2) || c.node.input(2)->is_constant())) {
    std::vector<int64_t> key = x.dims();
    key.push_back(threads);
    plan = st->get(key, make);
  } else {
    plan = make();
  }
  if (plan) {
    if (in_dnnl.residual && z != y.data<float>()) std::copy(z, z + y.numel(), y.data<float>());
    if (!plan->run(x.data<float>(), y.data<float>()))
      fail<Error>(c.node.describe(), ": oneDNN failed to run the convolution");
    if (silu_after) {
      float* yp = y.data<float>();
      parallel_elements(c, y.numel(), [&](int64_t b, int64_t end) {
        kernels::apply_layer_epilogue(after, yp + b, z ? z + b : nullptr, end - b);
      });
    }
    return;
  }
  // fallback: im2col + GEMM in NCHW, then the epilogue
  std::vector<float> scratch(kernels::conv2d_scratch_floats(p));
  if (!nhwc) {
    kernels::conv2d_f32(p, x.data<float>(), w.data<float>(), bias, y.data<float>(), scratch.data());
    kernels::apply_layer_epilogue(e, y.data<float>(), z, y.numel());
    return;
  }
  std::vector<float> xt(size_t(x.numel())), yt(size_t(y.numel()));
  kernels::nhwc_to_nchw_f32(x.data<float>(), size_t(p.n), size_t(p.c), size_t(p.h * p.w), xt.data());
  kernels::conv2d_f32(p, xt.data(), w.data<float>(), bias, yt.data(), scratch.data());
  kernels::nchw_to_nhwc_f32(yt.data(), size_t(p.n), size_t(p.m), size_t(p.oh * p.ow), y.data<float>());
  kernels::apply_layer_epilogue(e, y.data<float>(), z, y.numel());  // elementwise: any layout
}

}  // namespace

void register_layers_exec() {
  set_executor(OpKind::Linear, {run_linear, prepare_linear});
  set_executor(OpKind::Gemm, {run_gemm, nullptr});
  set_executor(OpKind::MatMul, {run_matmul, nullptr});
  set_executor(OpKind::Conv2d, {run_conv2d, prepare_conv2d});
  register_recurrent_exec();
}

}  // namespace mq::ops
