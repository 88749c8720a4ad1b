#pragma once
/// PyTorch's torch.save zip layout: state dicts of tensors (plain and quantized) written so
/// that torch.load reads them, and read back with a restricted unpickler that checks every
/// storage key, size, offset and stride against the archive.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/tensor.h"

namespace mq::serialization {

/// Writes an OrderedDict state dict of `tensors` (in order) as a torch.save archive whose
/// records live under `prefix/`. Tensors with quant() set and dtype i8 / u8 / i32 become
/// torch quantized tensors (per_tensor_affine or per_channel_affine; storages QInt8Storage,
/// QUInt8Storage, QInt32Storage). `extra_records` (name → bytes) are added under the prefix, deflated.
void save_torch_state_dict(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                           const std::map<std::string, std::string>& extra_records = {},
                           const std::string& prefix = "archive");

/// A state dict read from a torch zip archive.
struct TorchArchive {
  std::vector<std::pair<std::string, Tensor>> tensors;  ///< in the dict's order
  std::map<std::string, std::string> records;           ///< other records (name after the prefix → bytes)
};

/// Reads a torch.save zip archive holding a dict of tensors (torch quantized tensors come
/// back with QuantParams). Only the globals torch uses for tensors, storages, qschemes and
/// OrderedDict are accepted; non-tensor values are FormatErrors naming the key.
TorchArchive load_torch_state_dict(const std::string& path);
/// Same, from bytes in memory (`file` names the source in errors).
TorchArchive read_torch_state_dict(std::span<const std::byte> bytes, const std::string& file);

}  // namespace mq::serialization
