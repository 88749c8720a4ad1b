#pragma once
/// What building a Session does to its own copy of the graph before running it (the
/// compiled plan's graph rewrites). Saved models never contain the result: the rewritten
/// ops (NHWC convolutions with fused epilogues) exist only inside a Session.
#include "ir/graph.h"

namespace mq::plan {

/// Shapes that cannot differ except where both are unknown (executors check those at run
/// time).
bool same_shape(const Shape& a, const Shape& b);
/// The normalized constant axes operand `i` of `n` lists (rank r), or false when it is not a
/// constant or an axis is out of range.
bool const_axes(const Node* n, size_t i, int64_t r, std::vector<int64_t>& axes);

/// Fuses into fp32 Conv2d and Linear nodes an Add of one constant per output channel (into
/// the bias), the activation that follows (Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSwish,
/// HardSigmoid, Gelu, SiLU found as x·Sigmoid(x), GELU's tanh approximation written out as
/// elementwise ops), then a residual Add of a same-shaped tensor. The bias and activation may
/// follow views that keep every channel (Slice, Squeeze, Unsqueeze: a 1-D convolution's
/// Squeeze). Only outputs with no other reader fuse; graph outputs never disappear.
void fuse_conv_epilogues(Graph& g);

/// Runs fp32 Conv2d nodes in NHWC: each gets Transposes around it, then Transposes are
/// pushed through ops that do not care about the layout (elementwise, Concat, Resize, Slice,
/// reductions, Softmax), have a channels-last form (2-D MaxPool / AveragePool, 1-D ones as
/// 1 × k, global pools) or only drop or add spatial dims of 1 (Squeeze, Unsqueeze, such Reshapes: [N,H,W,C]
/// becomes [N,W,C] and back), and cancelled in pairs, so convolution chains, 1-D ones
/// included, stay channels-last and convert only where an op needs channels first.
void nhwc_layout(Graph& g);

/// A Linear with constant, finite weights reading a Cast of a bool tensor to float (a one-hot
/// encoding) reads the bool tensor: sums of the weight columns its rows select.
void fold_mask_casts(Graph& g);
/// Replaces a space-to-depth written as Slices and a channel Concat (x[..., i::s, j::s] for
/// every phase (i, j), W's phase major or H's, as in YOLOv5's Focus layer) by one Transpose of
/// a Reshape of x, which also absorbs an NHWC Transpose of the Concat's result.
void fuse_space_to_depth(Graph& g);

/// Replaces chains of fp32 elementwise ops and activations (each intermediate value read only
/// inside the chain, none smaller than the chain's output) by one FusedElementwise step that
/// evaluates them in one pass over L1-sized blocks, with the unfused ops' exact results.
void fuse_elementwise(Graph& g);

/// Makes a QConv2d whose output only a byte-table FusedElementwise reads (one u8 / i8
/// operand, scalar constants, same output type) apply that 256-entry table itself: the
/// node's y_scale / y_zero_point become the table's, its own are kept in the attributes
/// "requant_scale" / "requant_zero_point", the table in "output_table".
void fuse_conv_tables(Graph& g);

/// All of these (epilogues, mask casts, layout, space-to-depth, elementwise chains, conv
/// tables), then unused nodes removed and the order restored.
void compile(Graph& g);

}  // namespace mq::plan
