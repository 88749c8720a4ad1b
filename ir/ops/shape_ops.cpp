// Inference for shape and data-movement ops: Reshape, Flatten, Transpose, Concat, Split,
// Slice, Squeeze, Unsqueeze, Gather, Shape, Size, ConstantOfShape, Expand, Pad, Resize,
// Dropout, Range, Tile. Operands that older opsets had as attributes are inputs here.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "ir/ops/families.h"
#include "ir/slicing.h"

namespace mq::ops {

namespace {

/// A rank-`n` shape whose dims are all unknown.
Shape anonymous(size_t n) { return Shape(std::vector<Dim>(n)); }

/// The product of dims: static when all are; the single non-1 symbolic dim when only it is
/// unknown; otherwise anonymous.
Dim product(const std::vector<Dim>& dims, size_t begin, size_t end) {
  int64_t p = 1;
  const Dim* sym = nullptr;
  int unknown = 0;
  for (size_t i = begin; i < end; ++i) {
    if (dims[i].is_static()) p = mul_dims(p, dims[i].value);
    else {
      sym = &dims[i];
      ++unknown;
    }
  }
  if (unknown == 0) return Dim(p);
  if (unknown == 1 && p == 1) return *sym;
  return Dim();
}

/// The number of elements of operand i along its only dim (a 1-D list operand), if known.
std::optional<int64_t> list_length(const InferContext& c, size_t i) {
  if (!c.has_input(i)) return std::nullopt;
  const Shape& s = c.shape(i);
  if (!s.has_rank() || s.rank() != 1 || !s[0].is_static()) return std::nullopt;
  return s[0].value;
}

/// Normalizes axes for `rank` and rejects duplicates.
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  for (int64_t a : axes) {
    int64_t n = normalize_axis(a, rank);
    if (!seen.insert(n).second) fail<ShapeError>("axis ", a, " is repeated");
    out.push_back(n);
  }
  return out;
}

void reshape(InferContext& c) {
  const Shape& in = c.shape(0);
  bool allowzero = c.attrs().get_int_or("allowzero", 0) != 0;
  auto target = const_ints(c, 1);
  if (!target) {
    auto n = list_length(c, 1);
    c.set(0, c.dtype(0), n ? anonymous(size_t(*n)) : Shape::unknown_rank());
    return;
  }
  std::vector<Dim> out;
  int infer_at = -1;
  for (size_t i = 0; i < target->size(); ++i) {
    int64_t t = (*target)[i];
    if (t == -1) {
      if (infer_at >= 0) fail<ShapeError>("the shape ", Shape(*target).str(), " has more than one -1");
      infer_at = int(i);
      out.emplace_back();
    } else if (t == 0 && !allowzero) {
      if (!in.has_rank()) out.emplace_back();
      else if (i < in.rank()) out.push_back(in[i]);
      else fail<ShapeError>("shape entry ", i, " is 0 (copy) but the input ", in.str(), " has no dim ", i);
    } else if (t < 0) {
      fail<ShapeError>("the shape ", Shape(*target).str(), " has a negative entry ", t);
    } else {
      out.emplace_back(t);
    }
  }
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), Shape(std::move(out)));
    return;
  }
  // Cancel symbolic dims present on both sides, then compare the static products.
  std::vector<Dim> rest_in = in.dims();
  int64_t in_p = 1, out_p = 1;
  bool unknown = false;
  for (size_t i = 0; i < out.size(); ++i) {
    if (int(i) == infer_at) continue;
    if (out[i].is_static()) {
      out_p = mul_dims(out_p, out[i].value);
      continue;
    }
    auto it = std::find(rest_in.begin(), rest_in.end(), out[i]);
    if (it != rest_in.end()) rest_in.erase(it);
    else unknown = true;
  }
  for (const Dim& d : rest_in) {
    if (d.is_static()) in_p = mul_dims(in_p, d.value);
    else unknown = true;
  }
  if (!unknown) {
    if (infer_at >= 0) {
      if (out_p == 0 || in_p % out_p != 0)
        fail<ShapeError>("cannot reshape ", in.str(), " into ", Shape(*target).str());
      out[size_t(infer_at)] = Dim(in_p / out_p);
    } else if (in_p != out_p) {
      fail<ShapeError>("cannot reshape ", in.str(), " (", in_p, " elements) into ", Shape(out).str());
    }
  }
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void flatten(InferContext& c) {
  const Shape& in = c.shape(0);
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), anonymous(2));
    return;
  }
  int64_t r = int64_t(in.rank());
  int64_t axis = c.attrs().get_int_or("axis", 1);
  if (axis < -r || axis > r) fail<ShapeError>("axis ", axis, " is out of range for rank ", r);
  if (axis < 0) axis += r;
  c.set(0, c.dtype(0),
        Shape(std::vector<Dim>{product(in.dims(), 0, size_t(axis)), product(in.dims(), size_t(axis), in.rank())}));
}

void transpose(InferContext& c) {
  const Shape& in = c.shape(0);
  bool has_perm = c.attrs().has("perm");
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), has_perm ? anonymous(c.attrs().get_ints("perm").size()) : Shape::unknown_rank());
    return;
  }
  size_t r = in.rank();
  std::vector<int64_t> perm(r);
  if (has_perm) perm = c.attrs().get_ints("perm");
  else
    for (size_t i = 0; i < r; ++i) perm[i] = int64_t(r - 1 - i);
  if (perm.size() != r) fail<ShapeError>("perm has ", perm.size(), " entries for an input of rank ", r);
  auto axes = normalize_axes(perm, int64_t(r));
  std::vector<Dim> out;
  for (int64_t a : axes) out.push_back(in[size_t(a)]);
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void concat(InferContext& c) {
  if (c.num_inputs() == 0) fail<ShapeError>("Concat needs at least one operand");
  int64_t axis_attr = c.attrs().get_int("axis");
  std::optional<Shape> out;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    c.require(i);
    if (c.dtype(i) != c.dtype(0))
      fail<ShapeError>("operand ", i, " is ", dtype_name(c.dtype(i)), " but operand 0 is ",
                       dtype_name(c.dtype(0)));
    const Shape& s = c.shape(i);
    if (!s.has_rank()) continue;
    int64_t axis = normalize_axis(axis_attr, int64_t(s.rank()));
    if (!out) {
      out = s;
      continue;
    }
    if (out->rank() != s.rank())
      fail<ShapeError>("operand ", i, " has shape ", s.str(), " but another has ", out->str());
    for (size_t d = 0; d < s.rank(); ++d) {
      Dim& o = (*out)[d];
      if (int64_t(d) == axis) {
        o = o.is_static() && s[d].is_static() ? Dim(o.value + s[d].value) : Dim();
      } else if (o.is_static() && s[d].is_static() && o.value != s[d].value) {
        fail<ShapeError>("operand ", i, " has shape ", s.str(), ", which does not match ", out->str(),
                         " outside axis ", axis_attr);
      } else if (!o.is_static() && s[d].is_static()) {
        o = s[d];
      }
    }
  }
  // Unknown-rank operands leave the concatenated dim unknown.
  for (size_t i = 0; out && i < c.num_inputs(); ++i)
    if (!c.shape(i).has_rank()) (*out)[size_t(normalize_axis(axis_attr, int64_t(out->rank())))] = Dim();
  c.set(0, c.dtype(0), out ? *out : Shape::unknown_rank());
}

void split(InferContext& c) {
  const Shape& in = c.shape(0);
  auto sizes = const_ints(c, 1);
  size_t n = 0;
  if (sizes) n = sizes->size();
  else if (auto len = list_length(c, 1)) n = size_t(*len);
  else if (c.attrs().has("num_outputs")) n = size_t(std::max<int64_t>(c.attrs().get_int("num_outputs"), 0));
  else n = c.node.outputs().size();
  if (c.has_input(1) && c.attrs().has("num_outputs"))
    fail<ShapeError>("both a split operand and num_outputs are given");
  if (n == 0) fail<ShapeError>("the number of outputs is not known (give split sizes or num_outputs)");
  if (!in.has_rank()) {
    for (size_t i = 0; i < n; ++i) c.set(i, c.dtype(0), Shape::unknown_rank());
    return;
  }
  int64_t axis = normalize_axis(c.attrs().get_int_or("axis", 0), int64_t(in.rank()));
  const Dim& d = in[size_t(axis)];
  std::vector<Dim> parts(n);
  if (sizes) {
    int64_t sum = 0;
    for (size_t i = 0; i < n; ++i) {
      if ((*sizes)[i] < 0) fail<ShapeError>("split size ", (*sizes)[i], " is negative");
      sum += (*sizes)[i];
      parts[i] = Dim((*sizes)[i]);
    }
    if (d.is_static() && sum != d.value)
      fail<ShapeError>("split sizes sum to ", sum, " but dim ", axis, " of ", in.str(), " is ", d.value);
  } else if (d.is_static() && !c.has_input(1)) {
    int64_t chunk = (d.value + int64_t(n) - 1) / int64_t(n);
    if (!c.attrs().has("num_outputs") && d.value % int64_t(n) != 0)
      fail<ShapeError>("dim ", axis, " of ", in.str(), " does not split evenly into ", n, " outputs");
    if (chunk * int64_t(n - 1) > d.value)
      fail<ShapeError>("dim ", axis, " of ", in.str(), " cannot be split into ", n, " outputs");
    for (size_t i = 0; i < n; ++i) parts[i] = Dim(i + 1 < n ? chunk : d.value - chunk * int64_t(n - 1));
  }
  for (size_t i = 0; i < n; ++i) {
    Shape s = in;
    s[size_t(axis)] = parts[i];
    c.set(i, c.dtype(0), std::move(s));
  }
}

void slice(InferContext& c) {
  const Shape& in = c.shape(0);
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), Shape::unknown_rank());
    return;
  }
  int64_t r = int64_t(in.rank());
  auto starts = const_ints(c, 1), ends = const_ints(c, 2);
  std::optional<std::vector<int64_t>> axes, steps;
  if (c.has_input(3)) axes = const_ints(c, 3);
  if (c.has_input(4)) steps = const_ints(c, 4);
  bool axes_known = !c.has_input(3) || axes;
  std::vector<Dim> out = in.dims();
  if (!starts || !ends || !axes_known || (c.has_input(4) && !steps)) {
    if (axes)
      for (int64_t a : normalize_axes(*axes, r)) out[size_t(a)] = Dim();
    else out.assign(size_t(r), Dim());
    c.set(0, c.dtype(0), Shape(std::move(out)));
    return;
  }
  size_t n = starts->size();
  if (ends->size() != n) fail<ShapeError>("starts has ", n, " entries but ends has ", ends->size());
  if (!axes) {
    axes.emplace();
    for (size_t i = 0; i < n; ++i) axes->push_back(int64_t(i));
  }
  if (!steps) steps = std::vector<int64_t>(n, 1);
  if (axes->size() != n || steps->size() != n)
    fail<ShapeError>("starts, ends, axes and steps must have the same length");
  auto norm = normalize_axes(*axes, r);
  for (size_t i = 0; i < n; ++i) {
    int64_t step = (*steps)[i];
    if (step == 0) fail<ShapeError>("slice step is 0");
    const Dim& d = in[size_t(norm[i])];
    if (d.is_static()) {
      out[size_t(norm[i])] = Dim(slice_range((*starts)[i], (*ends)[i], step, d.value).second);
    } else {
      bool whole = step == 1 && (*starts)[i] == 0 && (*ends)[i] >= std::numeric_limits<int32_t>::max();
      out[size_t(norm[i])] = whole ? d : Dim();
    }
  }
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void squeeze(InferContext& c) {
  const Shape& in = c.shape(0);
  auto axes = const_ints(c, 1);
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), Shape::unknown_rank());
    return;
  }
  int64_t r = int64_t(in.rank());
  if (c.has_input(1) && !axes) {
    auto n = list_length(c, 1);
    c.set(0, c.dtype(0), n && *n <= r ? anonymous(size_t(r - *n)) : Shape::unknown_rank());
    return;
  }
  std::vector<Dim> out;
  if (axes) {
    auto norm = normalize_axes(*axes, r);
    for (int64_t i = 0; i < r; ++i) {
      bool drop = std::find(norm.begin(), norm.end(), i) != norm.end();
      if (drop && in[size_t(i)].is_static() && in[size_t(i)].value != 1)
        fail<ShapeError>("cannot squeeze dim ", i, " of ", in.str(), ": it is not 1");
      if (!drop) out.push_back(in[size_t(i)]);
    }
  } else {
    for (const Dim& d : in.dims()) {
      if (!d.is_static()) {  // might be 1: the rank is unknown until run time
        c.set(0, c.dtype(0), Shape::unknown_rank());
        return;
      }
      if (d.value != 1) out.push_back(d);
    }
  }
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void unsqueeze(InferContext& c) {
  const Shape& in = c.shape(0);
  c.require(1);
  auto axes = const_ints(c, 1);
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), Shape::unknown_rank());
    return;
  }
  int64_t r = int64_t(in.rank());
  if (!axes) {
    auto n = list_length(c, 1);
    c.set(0, c.dtype(0), n ? anonymous(size_t(r + *n)) : Shape::unknown_rank());
    return;
  }
  int64_t out_r = r + int64_t(axes->size());
  auto norm = normalize_axes(*axes, out_r);
  std::vector<Dim> out;
  size_t k = 0;
  for (int64_t i = 0; i < out_r; ++i) {
    if (std::find(norm.begin(), norm.end(), i) != norm.end()) out.emplace_back(1);
    else out.push_back(in[k++]);
  }
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void gather(InferContext& c) {
  const Shape& data = c.shape(0);
  const Shape& idx = c.shape(1);
  if (c.dtype(1) != DType::i32 && c.dtype(1) != DType::i64)
    fail<ShapeError>("indices must be i32 or i64, got ", dtype_name(c.dtype(1)));
  if (!data.has_rank() || !idx.has_rank()) {
    c.set(0, c.dtype(0), Shape::unknown_rank());
    return;
  }
  int64_t axis = normalize_axis(c.attrs().get_int_or("axis", 0), int64_t(data.rank()));
  std::vector<Dim> out(data.dims().begin(), data.dims().begin() + axis);
  out.insert(out.end(), idx.dims().begin(), idx.dims().end());
  out.insert(out.end(), data.dims().begin() + axis + 1, data.dims().end());
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void shape(InferContext& c) {
  const Shape& in = c.shape(0);
  if (!in.has_rank()) {
    c.set(0, DType::i64, anonymous(1));
    return;
  }
  int64_t r = int64_t(in.rank());
  int64_t start = c.attrs().get_int_or("start", 0), end = c.attrs().get_int_or("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  c.set(0, DType::i64, Shape{end - start});
}

void size(InferContext& c) {
  c.require(0);
  c.set(0, DType::i64, Shape{});
}

void constant_of_shape(InferContext& c) {
  DType dt = DType::f32;
  if (c.attrs().has("value")) {
    const Tensor& v = c.attrs().get_tensor("value");
    if (v.numel() != 1) fail<ShapeError>("value must hold one element, it holds ", v.numel());
    dt = v.dtype();
  }
  if (c.has_input(0) && c.dtype(0) != DType::i64)
    fail<ShapeError>("the shape operand must be i64, got ", dtype_name(c.dtype(0)));
  auto dims = const_ints(c, 0);
  if (!dims) {
    auto n = list_length(c, 0);
    c.set(0, dt, n ? anonymous(size_t(*n)) : Shape::unknown_rank());
    return;
  }
  for (int64_t d : *dims)
    if (d < 0) fail<ShapeError>("the shape ", Shape(*dims).str(), " has a negative dim");
  c.set(0, dt, Shape(*dims));
}

void expand(InferContext& c) {
  const Shape& in = c.shape(0);
  auto dims = const_ints(c, 1);
  if (!dims) {
    auto n = list_length(c, 1);
    if (n && in.has_rank()) c.set(0, c.dtype(0), anonymous(std::max(size_t(*n), in.rank())));
    else c.set(0, c.dtype(0), Shape::unknown_rank());
    return;
  }
  for (int64_t d : *dims)
    if (d < 0) fail<ShapeError>("the shape ", Shape(*dims).str(), " has a negative dim");
  c.set(0, c.dtype(0), broadcast_shapes(in, Shape(*dims)));
}

void pad(InferContext& c) {
  const Shape& in = c.shape(0);
  std::string mode = c.attrs().get_string_or("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    fail<UnsupportedError>("pad mode '", mode, "' is not supported (constant, reflect, edge, wrap)");
  c.require(1);
  if (c.has_input(2) && c.dtype(2) != c.dtype(0))
    fail<ShapeError>("constant_value is ", dtype_name(c.dtype(2)), " but the data is ", dtype_name(c.dtype(0)));
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), Shape::unknown_rank());
    return;
  }
  int64_t r = int64_t(in.rank());
  auto pads = const_ints(c, 1);
  std::optional<std::vector<int64_t>> axes;
  if (c.has_input(3)) axes = const_ints(c, 3);
  if (!pads || (c.has_input(3) && !axes)) {
    c.set(0, c.dtype(0), anonymous(size_t(r)));
    return;
  }
  std::vector<int64_t> norm;
  if (axes) norm = normalize_axes(*axes, r);
  else
    for (int64_t i = 0; i < r; ++i) norm.push_back(i);
  size_t n = norm.size();
  if (pads->size() != 2 * n) fail<ShapeError>("pads has ", pads->size(), " entries, expected ", 2 * n);
  std::vector<Dim> out = in.dims();
  for (size_t i = 0; i < n; ++i) {
    Dim& d = out[size_t(norm[i])];
    int64_t add = (*pads)[i] + (*pads)[i + n];
    if (!d.is_static()) {
      if (add != 0) d = Dim();
      continue;
    }
    if (d.value + add < 0)
      fail<ShapeError>("pads ", Shape(*pads).str(), " crop dim ", norm[i], " of ", in.str(), " below 0");
    d = Dim(d.value + add);
  }
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void resize(InferContext& c) {
  const Attributes& a = c.attrs();
  std::string mode = a.get_string_or("mode", "nearest");
  if (mode != "nearest" && mode != "linear")
    fail<UnsupportedError>("resize mode '", mode, "' is not supported (nearest, linear)");
  std::string ct = a.get_string_or("coordinate_transformation_mode", "half_pixel");
  static const std::set<std::string> kTransforms{"half_pixel",         "half_pixel_symmetric",
                                                 "pytorch_half_pixel", "align_corners",
                                                 "asymmetric",         "tf_half_pixel_for_nearest"};
  if (!kTransforms.count(ct)) fail<UnsupportedError>("coordinate_transformation_mode '", ct, "' is not supported");
  std::string nm = a.get_string_or("nearest_mode", "round_prefer_floor");
  if (nm != "round_prefer_floor" && nm != "round_prefer_ceil" && nm != "floor" && nm != "ceil")
    fail<UnsupportedError>("nearest_mode '", nm, "' is not supported");
  if (a.get_int_or("antialias", 0) != 0) fail<UnsupportedError>("antialias is not supported");
  std::string policy = a.get_string_or("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch") fail<UnsupportedError>("keep_aspect_ratio_policy '", policy, "' is not supported");

  const Shape& in = c.shape(0);
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), Shape::unknown_rank());
    return;
  }
  if (mode == "linear" && c.dtype(0) != DType::f32 && c.dtype(0) != DType::u8 && c.dtype(0) != DType::i8)
    fail<UnsupportedError>("linear resize of ", dtype_name(c.dtype(0)), " (f32, u8 and i8 only)");
  int64_t r = int64_t(in.rank());
  std::vector<int64_t> axes;
  if (a.has("axes")) axes = normalize_axes(a.get_ints("axes"), r);
  else
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  // An empty scales or sizes operand counts as absent (opsets 11-12 pass empty scales).
  auto present = [&](size_t i) {
    if (!c.has_input(i)) return false;
    auto n = list_length(c, i);
    return !n || *n > 0;
  };
  bool has_scales = present(2), has_sizes = present(3);
  if (has_scales == has_sizes) fail<ShapeError>("exactly one of scales and sizes must be given");
  std::vector<Dim> out = in.dims();
  if (has_sizes) {
    auto sizes = const_ints(c, 3);
    if (!sizes) {
      for (int64_t ax : axes) out[size_t(ax)] = Dim();
    } else {
      if (sizes->size() != axes.size())
        fail<ShapeError>("sizes has ", sizes->size(), " entries, expected ", axes.size());
      for (size_t i = 0; i < axes.size(); ++i) {
        if ((*sizes)[i] < 0) fail<ShapeError>("sizes ", Shape(*sizes).str(), " has a negative entry");
        out[size_t(axes[i])] = Dim((*sizes)[i]);
      }
    }
  } else {
    const Tensor* s = c.value(2);
    if (!s) {
      for (int64_t ax : axes) out[size_t(ax)] = Dim();
    } else {
      auto scales = s->to_float();
      if (scales.size() != axes.size())
        fail<ShapeError>("scales has ", scales.size(), " entries, expected ", axes.size());
      for (size_t i = 0; i < axes.size(); ++i) {
        if (!(scales[i] > 0.f)) fail<ShapeError>("scale ", scales[i], " is not positive");
        Dim& d = out[size_t(axes[i])];
        if (d.is_static()) d = Dim(int64_t(std::floor(double(d.value) * double(scales[i]))));
        else if (scales[i] != 1.f) d = Dim();
      }
    }
  }
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

void dropout(InferContext& c) {
  const Tensor* training = c.value(2);
  if (training && !training->to_int64().empty() && training->to_int64()[0] != 0) {
    const Tensor* ratio = c.value(1);
    float r = 0.5f;
    if (c.has_input(1)) r = ratio ? ratio->to_float().at(0) : -1.f;
    if (r != 0.f) fail<UnsupportedError>("training-mode Dropout with a nonzero ratio (random) is not supported");
  }
  c.set(0, c.dtype(0), c.shape(0));
  c.set(1, DType::boolean, c.shape(0));
}

void range(InferContext& c) {
  for (size_t i = 0; i < 3; ++i) {
    c.require(i);
    if (c.dtype(i) != c.dtype(0))
      fail<ShapeError>("start, limit and delta must have one dtype (", dtype_name(c.dtype(0)), " vs ",
                       dtype_name(c.dtype(i)), ")");
    if (c.shape(i).has_rank() && c.shape(i).is_static() && c.shape(i).numel() != 1)
      fail<ShapeError>("operand ", i, " must be a scalar, got ", c.shape(i).str());
  }
  DType dt = c.dtype(0);
  if (dt != DType::f32 && dt != DType::f64 && dt != DType::i16 && dt != DType::i32 && dt != DType::i64)
    fail<UnsupportedError>("Range of ", dtype_name(dt));
  if (!c.value(0) || !c.value(1) || !c.value(2)) {
    c.set(0, dt, anonymous(1));
    return;
  }
  int64_t n;
  if (is_float(dt)) {
    double start = c.value(0)->to_float()[0], limit = c.value(1)->to_float()[0], delta = c.value(2)->to_float()[0];
    if (dt == DType::f64) {
      start = c.value(0)->data<double>()[0];
      limit = c.value(1)->data<double>()[0];
      delta = c.value(2)->data<double>()[0];
    }
    if (delta == 0) fail<ShapeError>("delta is 0");
    n = int64_t(std::max(0.0, std::ceil((limit - start) / delta)));
  } else {
    int64_t start = c.value(0)->to_int64()[0], limit = c.value(1)->to_int64()[0],
            delta = c.value(2)->to_int64()[0];
    if (delta == 0) fail<ShapeError>("delta is 0");
    int64_t diff = limit - start;
    n = delta > 0 ? (diff > 0 ? (diff + delta - 1) / delta : 0) : (diff < 0 ? (-diff + -delta - 1) / -delta : 0);
  }
  c.set(0, dt, Shape{n});
}

void tile(InferContext& c) {
  const Shape& in = c.shape(0);
  c.require(1);
  if (!in.has_rank()) {
    c.set(0, c.dtype(0), Shape::unknown_rank());
    return;
  }
  auto reps = const_ints(c, 1);
  if (!reps) {
    c.set(0, c.dtype(0), anonymous(in.rank()));
    return;
  }
  if (reps->size() != in.rank())
    fail<ShapeError>("repeats has ", reps->size(), " entries for an input of rank ", in.rank());
  std::vector<Dim> out = in.dims();
  for (size_t i = 0; i < out.size(); ++i) {
    if ((*reps)[i] < 0) fail<ShapeError>("repeats ", Shape(*reps).str(), " has a negative entry");
    if (out[i].is_static()) out[i] = Dim(out[i].value * (*reps)[i]);
    else if ((*reps)[i] != 1) out[i] = Dim();
  }
  c.set(0, c.dtype(0), Shape(std::move(out)));
}

}  // namespace

void register_shape_ops() {
  set_infer_fn(OpKind::Reshape, reshape);
  set_infer_fn(OpKind::Flatten, flatten);
  set_infer_fn(OpKind::Transpose, transpose);
  set_infer_fn(OpKind::Concat, concat);
  set_infer_fn(OpKind::Split, split);
  set_infer_fn(OpKind::Slice, slice);
  set_infer_fn(OpKind::Squeeze, squeeze);
  set_infer_fn(OpKind::Unsqueeze, unsqueeze);
  set_infer_fn(OpKind::Gather, gather);
  set_infer_fn(OpKind::Shape, shape);
  set_infer_fn(OpKind::Size, size);
  set_infer_fn(OpKind::ConstantOfShape, constant_of_shape);
  set_infer_fn(OpKind::Expand, expand);
  set_infer_fn(OpKind::Pad, pad);
  set_infer_fn(OpKind::Resize, resize);
  set_infer_fn(OpKind::Dropout, dropout);
  set_infer_fn(OpKind::Range, range);
  set_infer_fn(OpKind::Tile, tile);
}

}  // namespace mq::ops
