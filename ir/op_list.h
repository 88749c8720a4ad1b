#pragma once
/// The one list of IR ops. The enum, the names and the inference registry derive from it.
///
/// Semantics follow the newest ONNX opset of the op of the same name (optional operands that
/// later opsets moved from attributes to inputs are inputs here: Clip min/max, Reduce* axes,
/// Squeeze/Unsqueeze axes, Split sizes, Pad pads, Slice starts/ends/axes/steps). Importers
/// canonicalize older opsets into this form. monoquant's own ops:
///   Linear(X[..,in], W[out,in], B[out]?) -> Y[..,out] = X·Wᵀ + B  (Gemm / MatMul with a
///     constant weight are lowered to this)
///   Conv2d(X[N,C,H,W], W[M,C/group,kH,kW], B[M]?) attrs strides, pads(4), dilations, group,
///     auto_pad: ONNX Conv restricted to 2 spatial dims (1-D convs are imported with H = 1).
///     A Session's compiled plan adds (never in saved models): layout "NHWC" (X and Y stored
///     [N,H,W,C]), activation (Relu, LeakyRelu, Clip, Sigmoid, Tanh, Silu, HardSwish,
///     HardSigmoid, Gelu, GeluTanh; activation_alpha / activation_beta) and a residual operand
///     Z (4th input): Y = activation(conv + B) + Z, or activation(conv + B + Z) with
///     residual_first = 1. Linear takes the same activation and residual in a plan.
///   QLinear / QConv2d / QLSTM / DynamicQLinear / DynamicQLSTM: quantized layers, documented
///     in engine/quantize (their operands carry QuantParams).
///   FusedElementwise(X0, X1, ...) -> Y: a Session's compiled plan only (never in saved models):
///     a chain of fp32 elementwise ops evaluated in one pass (engine/plan/fuse_elementwise.cpp
///     documents the program attributes); Y has the broadcast shape of the operands.
// (clang-format cannot lay out a list of macro calls, one group per line)
// clang-format off
#define MQ_OP_LIST(X)                                                                          \
  /* layers users select for quantization */                                                 \
  X(Linear) X(Conv2d) X(LSTM)                                                                  \
  /* other recurrent layers and matrix products */                                           \
  X(GRU) X(RNN) X(MatMul) X(Gemm)                                                              \
  /* activations */                                                                          \
  X(Relu) X(LeakyRelu) X(PRelu) X(Clip) X(Sigmoid) X(HardSigmoid) X(HardSwish) X(Tanh) X(Erf) \
  X(Softmax) X(LogSoftmax) X(Elu) X(Selu) X(Gelu) X(Softplus)                                  \
  /* elementwise arithmetic and logic */                                                     \
  X(Add) X(Sub) X(Mul) X(Div) X(Pow) X(Sqrt) X(Exp) X(Log) X(Max) X(Min) X(Sum) X(Mean)        \
  X(Neg) X(Abs) X(Reciprocal) X(Floor) X(Ceil) X(Round) X(Sign) X(Sin) X(Cos)                  \
  X(Equal) X(Less) X(Greater) X(LessOrEqual) X(GreaterOrEqual) X(Not) X(And) X(Or) X(Xor)      \
  X(Where) X(Cast)                                                                             \
  /* pooling */                                                                              \
  X(MaxPool) X(AveragePool) X(GlobalAveragePool) X(GlobalMaxPool)                              \
  /* normalization */                                                                        \
  X(BatchNormalization) X(InstanceNormalization) X(LayerNormalization)                         \
  /* reductions */                                                                           \
  X(ReduceMean) X(ReduceMax) X(ReduceMin) X(ReduceSum) X(ReduceProd) X(ReduceL2)               \
  X(ArgMax) X(ArgMin)                                                                          \
  /* shape and data movement */                                                              \
  X(Reshape) X(Flatten) X(Transpose) X(Concat) X(Split) X(Slice) X(Squeeze) X(Unsqueeze)       \
  X(Gather) X(Shape) X(Size) X(ConstantOfShape) X(Expand) X(Pad) X(Resize) X(Identity)         \
  X(Dropout) X(Range) X(Tile)                                                                  \
  /* control flow (subgraphs in graph attributes; ir/control_flow.h) */                      \
  X(If) X(Loop) X(Scan)                                                                        \
  /* quantization: ONNX standard ops */                                                      \
  X(QuantizeLinear) X(DequantizeLinear) X(DynamicQuantizeLinear) X(QLinearMatMul)              \
  X(QLinearConv) X(MatMulInteger) X(ConvInteger)                                               \
  /* quantization: monoquant's quantized layers */                                           \
  X(QLinear) X(QConv2d) X(QLSTM) X(DynamicQLinear) X(DynamicQLSTM)                            \
  /* a compiled plan's fused steps */                                                        \
  X(FusedElementwise)

// clang-format on
namespace mq {

/// Every IR op.
enum class OpKind : uint16_t {
#define MQ_X(name) name,
  MQ_OP_LIST(MQ_X)
#undef MQ_X
      count_
};

inline constexpr size_t kOpCount = size_t(OpKind::count_);

}  // namespace mq
