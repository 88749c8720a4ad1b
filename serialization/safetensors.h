#pragma once
/// The safetensors format (a u64 little-endian header length, a JSON header, a data buffer):
/// a reader that applies every validation rule of the format and a writer that pads the
/// header with spaces so the data starts at a multiple of 8.
#include <map>
#include <span>
#include <string>

#include "ir/tensor.h"
#include "serialization/io.h"

namespace mq::serialization {

/// The contents of a safetensors file.
struct SafetensorsContents {
  std::map<std::string, Tensor> tensors;        ///< by name; data copied to aligned storage
  std::map<std::string, std::string> metadata;  ///< the "__metadata__" object
};

/// The safetensors name of a dtype ("F32"); UnsupportedError for dtypes it cannot hold.
std::string safetensors_dtype_name(DType t);
/// The dtype of a safetensors name; UnsupportedError naming it for F8_*, C64, sub-byte types.
DType safetensors_dtype(const std::string& name);

/// Parses and validates safetensors bytes (`file` names the source in errors).
SafetensorsContents read_safetensors(std::span<const std::byte> bytes, const std::string& file);
/// Reads a safetensors file (mapped, then copied tensor by tensor).
SafetensorsContents load_safetensors(const std::string& path);
/// Writes tensors and metadata; tensors are laid out by decreasing element size, then name.
void write_safetensors(ByteSink& out, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
/// Writes a safetensors file atomically.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace mq::serialization
