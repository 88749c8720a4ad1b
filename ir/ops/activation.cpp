// Inference for activations: output has the input's type.
#include "ir/ops/families.h"

namespace mq::ops {

void register_activation() {
  for (OpKind op : {OpKind::Relu, OpKind::LeakyRelu, OpKind::Clip, OpKind::Sigmoid,
                    OpKind::HardSigmoid, OpKind::HardSwish, OpKind::Tanh, OpKind::Erf,
                    OpKind::Softmax, OpKind::LogSoftmax, OpKind::Elu, OpKind::Selu, OpKind::Gelu,
                    OpKind::Softplus})
    set_infer_fn(op, infer_same_as_input0);
  set_infer_fn(OpKind::PRelu, [](InferContext& c) { infer_broadcast(c); });
}

}  // namespace mq::ops
