#pragma once
/// Executors of monoquant's quantized layers (QLinear, QConv2d, DynamicQLinear, QLSTM,
/// DynamicQLSTM) on the int8 kernels; weights are packed once per Session.
namespace mq::ops {

void register_qlayer_exec();

}  // namespace mq::ops
