#include "ir/ops.h"

#include <array>

namespace mq {

namespace {
constexpr std::array<std::string_view, kOpCount> kNames = {
#define MQ_X(name) #name,
    MQ_OP_LIST(MQ_X)
#undef MQ_X
};
static_assert(kNames.size() == kOpCount, "op names and op enum must stay in step");
}  // namespace

std::string_view op_name(OpKind op) { return kNames[size_t(op)]; }

std::optional<OpKind> op_from_name(std::string_view name) {
  for (size_t i = 0; i < kOpCount; ++i)
    if (kNames[i] == name) return OpKind(i);
  return std::nullopt;
}

}  // namespace mq
