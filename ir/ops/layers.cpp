// Inference for layers: Linear, Conv2d, MatMul, Gemm and the recurrent layers.
#include "ir/ops/families.h"

namespace mq::ops {

namespace {
void linear(InferContext& c) {
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (w.has_rank() && w.rank() != 2) fail<ShapeError>("weight must be 2-D [out, in], got ", w.str());
  if (!x.has_rank()) return c.set(0, c.dtype(0), Shape::unknown_rank());
  if (x.rank() < 1) fail<ShapeError>("input must have at least 1 dim");
  const Dim& in = x[x.rank() - 1];
  if (in.is_static() && w[1].is_static() && in.value != w[1].value)
    fail<ShapeError>("input features ", in.value, " do not match weight ", w.str());
  Shape y = x;
  y[y.rank() - 1] = w[0];
  c.set(0, c.dtype(0), y);
}
}  // namespace

void register_layers() { set_infer_fn(OpKind::Linear, linear); }

}  // namespace mq::ops
