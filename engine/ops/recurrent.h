#pragma once
// The fp32 LSTM, GRU and RNN executors (engine/ops/recurrent.cpp).

namespace mq::ops {

/// Registers the LSTM, GRU and RNN executors (called by register_layers_exec).
void register_recurrent_exec();

}  // namespace mq::ops
