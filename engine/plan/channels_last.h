#pragma once
/// The channels-last rewrites of the layout planner (engine/plan/layout.cpp): the Transposes
/// it places and follows, and the channels-last form of each op a channels-first Transpose
/// can be pushed through. Inside engine/plan only.
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mq::plan::cl {

using Perm = std::vector<int64_t>;

/// Channels-first dims from channels-last data of rank r ([N,W,C] → [N,C,W], [N,H,W,C] →
/// [N,C,H,W]): axis a of the channels-first tensor is axis to_cf(r)[a] of the channels-last one.
Perm to_cf(size_t r);
/// The inverse: channels-first → channels-last.
Perm to_cl(size_t r);
bool is_transpose(const Node* n, const Perm& p);
/// The rank of the channels-first value `v` when a channels-last → channels-first Transpose
/// made it (rank ≥ 3), else 0.
size_t cf_rank(const Value* v);
/// A Transpose of x by p placed before `anchor`.
Value* transpose(Graph& g, Node* anchor, Value* x, const Perm& p, const std::string& hint);
/// A 1-D int64 constant.
Value* ints_constant(Graph& g, const std::string& hint, const std::vector<int64_t>& v);
/// Readers of `old` read `now` instead, and `now` (a value the planner made) takes old's name.
void replace(Graph& g, Value* old, Value* now);

/// Runs `u` on channels-last operands when its result does not depend on the layout; its
/// result is transposed back for its readers (to meet the next Transpose and cancel). `r`:
/// the rank of the channels-first operands.
bool sink_through(Graph& g, Node* u, size_t r);
/// A 1-D pool of a channels-first [N, C, W] value becomes the 2-D pool of it unsqueezed to
/// [N, C, 1, W] (kernel 1 × k) and squeezed back, which then run on the channels-last data.
bool pool_1d_as_2d(Graph& g, Node* u);
/// A Reshape of a channels-first value that only removes and inserts spatial dims of 1
/// becomes a Squeeze and an Unsqueeze, which then run on the channels-last data.
bool split_unit_reshape(Graph& g, Node* u);

}  // namespace mq::plan::cl
