// Inference for pooling (MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool) and
// normalization (BatchNormalization inference form, InstanceNormalization, LayerNormalization).
#include "ir/ops/families.h"

namespace mq::ops {

namespace {
void require_f32(const InferContext& c, size_t i, const char* what) {
  if (c.has_input(i) && c.dtype(i) != DType::f32)
    fail<UnsupportedError>(what, " must be f32, got ", dtype_name(c.dtype(i)));
}

// MaxPool / AveragePool: 1 to 3 spatial dims.
void pool(InferContext& c, bool is_max) {
  const DType dt = c.dtype(0);
  if (dt != DType::f32 && dt != DType::u8 && dt != DType::i8)  // int8: MaxPool moves, AveragePool averages
    fail<UnsupportedError>("input dtype ", dtype_name(dt), " is not supported");
  const Attributes& at = c.attrs();
  const auto kernel = at.get_ints("kernel_shape");
  const size_t nd = kernel.size();
  if (nd < 1 || nd > 3) fail<UnsupportedError>(nd, "-D pooling is not supported (1 to 3 spatial dims)");
  // layout NHWC (a Session's compiled plan only): 2-D pooling of x stored [N,H,W,C]
  const std::string layout = at.get_string_or("layout", "NCHW");
  if (layout != "NCHW" && layout != "NHWC")
    fail<UnsupportedError>("attribute 'layout' '", layout, "' is not NCHW or NHWC");
  const bool nhwc = layout == "NHWC";
  if (nhwc && (nd != 2 || c.node.outputs().size() > 1))
    fail<UnsupportedError>("NHWC pooling is 2-D with one output");
  const Shape& xs = c.shape(0);
  const Shape x =
      nhwc && xs.has_rank() && xs.rank() == 4 ? Shape(std::vector<Dim>{xs[0], xs[3], xs[1], xs[2]}) : xs;
  if (x.has_rank() && x.rank() != nd + 2)
    fail<ShapeError>("input ", x.str(), " does not have ", nd, " spatial dims as kernel_shape");
  const auto strides = at.get_ints_or("strides", std::vector<int64_t>(nd, 1));
  const auto dil = at.get_ints_or("dilations", std::vector<int64_t>(nd, 1));
  const auto pads = at.get_ints_or("pads", std::vector<int64_t>(2 * nd, 0));
  if (strides.size() != nd || dil.size() != nd || pads.size() != 2 * nd)
    fail<ShapeError>("strides, dilations and pads must match kernel_shape's ", nd, " dims");
  for (size_t d = 0; d < nd; ++d) {
    if (kernel[d] < 1 || strides[d] < 1 || dil[d] < 1)
      fail<ShapeError>("kernel_shape, strides and dilations must be >= 1");
    if (pads[d] < 0 || pads[d + nd] < 0) fail<ShapeError>("attribute 'pads' must be >= 0");
    // as ONNX Runtime: a pad as wide as the window would make outputs of padding alone
    if (pads[d] >= kernel[d] || pads[d + nd] >= kernel[d])
      fail<ShapeError>("attribute 'pads' (", pads[d], ", ", pads[d + nd], ") must be smaller than kernel_shape ",
                       kernel[d]);
  }
  const std::string auto_pad = at.get_string_or("auto_pad", "NOTSET");
  const bool ceil_mode = at.get_int_or("ceil_mode", 0) != 0;
  const int64_t order = at.get_int_or("storage_order", 0);
  if (order != 0 && order != 1) fail<ShapeError>("storage_order must be 0 or 1");
  if (!x.has_rank()) {
    Dim probe = spatial_out_dim(Dim(), 1, 1, 1, 0, 0, auto_pad, false);  // validates auto_pad
    (void)probe;
    c.set(0, dt, Shape::unknown_rank());
    if (c.node.outputs().size() > 1) c.set(1, DType::i64, Shape::unknown_rank());
    return;
  }
  std::vector<Dim> y = {x[0], x[1]};
  for (size_t d = 0; d < nd; ++d)
    y.push_back(
        spatial_out_dim(x[2 + d], kernel[d], strides[d], dil[d], pads[d], pads[d + nd], auto_pad, ceil_mode));
  if (nhwc) y = {y[0], y[2], y[3], y[1]};
  c.set(0, dt, Shape(y));
  if (c.node.outputs().size() > 1) {
    if (!is_max) fail<ShapeError>("AveragePool has one output");
    c.set(1, DType::i64, Shape(y));
  }
}
void max_pool(InferContext& c) { pool(c, true); }
void avg_pool(InferContext& c) { pool(c, false); }

void global_pool(InferContext& c) {
  const DType dt = c.dtype(0);  // int8 values average (or take their maximum) on their own grid
  if (dt != DType::u8 && dt != DType::i8) require_f32(c, 0, "input");
  const Shape& x = c.shape(0);
  if (!x.has_rank()) return c.set(0, c.dtype(0), Shape::unknown_rank());
  if (x.rank() < 3) fail<ShapeError>("input must have at least 3 dims [N,C,...], got ", x.str());
  // layout NHWC (a Session's compiled plan only): x stored [N,...,C], y [N,1,...,1,C]
  const std::string layout = c.attrs().get_string_or("layout", "NCHW");
  if (layout != "NCHW" && layout != "NHWC")
    fail<UnsupportedError>("attribute 'layout' '", layout, "' is not NCHW or NHWC");
  std::vector<Dim> y(x.rank(), Dim(1));
  y[0] = x[0];
  if (layout == "NHWC") y.back() = x[x.rank() - 1];
  else y[1] = x[1];
  c.set(0, c.dtype(0), Shape(std::move(y)));
}

// Checks that operand i is a [C] vector matching the input's channels.
void check_channel_vector(const InferContext& c, size_t i, const char* what) {
  if (!c.has_input(i)) return;
  require_f32(c, i, what);
  const Shape& s = c.shape(i);
  const Shape& x = c.shape(0);
  if (!s.has_rank()) return;
  if (s.rank() != 1) fail<ShapeError>(what, " must be 1-D [C], got ", s.str());
  if (x.has_rank() && x.rank() >= 2 && x[1].is_static() && s[0].is_static() && x[1].value != s[0].value)
    fail<ShapeError>(what, " has ", s[0].value, " values for ", x[1].value, " channels");
}

void batch_norm(InferContext& c) {
  require_f32(c, 0, "input");
  if (c.attrs().get_int_or("training_mode", 0) != 0)
    fail<UnsupportedError>("training_mode is not supported (inference form only)");
  if (c.node.outputs().size() > 1)
    fail<UnsupportedError>("the training outputs (running mean/var) are not supported");
  const Shape& x = c.shape(0);
  if (x.has_rank() && x.rank() < 2) fail<ShapeError>("input must have at least 2 dims [N,C,...]");
  for (size_t i = 1; i < 5; ++i) c.require(i);
  check_channel_vector(c, 1, "scale");
  check_channel_vector(c, 2, "B");
  check_channel_vector(c, 3, "mean");
  check_channel_vector(c, 4, "var");
  c.set(0, c.dtype(0), x);
}

void instance_norm(InferContext& c) {
  require_f32(c, 0, "input");
  const Shape& x = c.shape(0);
  if (x.has_rank() && x.rank() < 3) fail<ShapeError>("input must have at least 3 dims [N,C,...]");
  c.require(1);
  c.require(2);
  check_channel_vector(c, 1, "scale");
  check_channel_vector(c, 2, "B");
  c.set(0, c.dtype(0), x);
}

void layer_norm(InferContext& c) {
  require_f32(c, 0, "input");
  require_f32(c, 1, "scale");
  require_f32(c, 2, "B");
  c.require(1);
  if (c.attrs().get_int_or("stash_type", 1) != 1)
    fail<UnsupportedError>("stash_type other than 1 (float) is not supported");
  const Shape& x = c.shape(0);
  const size_t n_out = c.node.outputs().size();
  if (n_out > 3) fail<ShapeError>("too many outputs");
  if (!x.has_rank()) {
    for (size_t i = 0; i < n_out; ++i) c.set(i, DType::f32, Shape::unknown_rank());
    return;
  }
  const int64_t axis = normalize_axis(c.attrs().get_int_or("axis", -1), int64_t(x.rank()));
  for (size_t i : {size_t(1), size_t(2)}) {
    if (!c.has_input(i) || !c.shape(i).has_rank()) continue;
    const Shape& s = c.shape(i);
    if (s.rank() > x.rank() - size_t(axis))
      fail<ShapeError>(i == 1 ? "scale " : "B ", s.str(), " has more dims than the normalized part");
    for (size_t k = 0; k < s.rank(); ++k) {
      const Dim& d = s[s.rank() - 1 - k];
      const Dim& xd = x[x.rank() - 1 - k];
      if (d.is_static() && d.value != 1 && xd.is_static() && d.value != xd.value)
        fail<ShapeError>(i == 1 ? "scale " : "B ", s.str(), " does not broadcast to ", x.str());
    }
  }
  c.set(0, c.dtype(0), x);
  std::vector<Dim> stat = x.dims();
  for (size_t k = size_t(axis); k < stat.size(); ++k) stat[k] = Dim(1);
  for (size_t i = 1; i < n_out; ++i) c.set(i, DType::f32, Shape(stat));
}
}  // namespace

void register_pool_norm() {
  set_infer_fn(OpKind::MaxPool, max_pool);
  set_infer_fn(OpKind::AveragePool, avg_pool);
  set_infer_fn(OpKind::GlobalAveragePool, global_pool);
  set_infer_fn(OpKind::GlobalMaxPool, global_pool);
  set_infer_fn(OpKind::BatchNormalization, batch_norm);
  set_infer_fn(OpKind::InstanceNormalization, instance_norm);
  set_infer_fn(OpKind::LayerNormalization, layer_norm);
}

}  // namespace mq::ops
