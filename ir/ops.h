#pragma once
/// Op names and lookup, derived from op_list.h.
#include <optional>
#include <string_view>

#include "ir/op_list.h"

namespace mq {

/// The op's name as in op_list.h ("Conv2d").
std::string_view op_name(OpKind op);
/// Looks an op up by name; none when unknown.
std::optional<OpKind> op_from_name(std::string_view name);

}  // namespace mq
