#pragma once
/// NumPy .npy files (format versions 1, 2 and 3) and .npz archives of them, to and from
/// mq::Tensor. Supported dtypes: f32, f64, i8, u8, i16, i32, i64, bool (plus f16, u16, u32,
/// u64), little-endian, C order. Fortran order, big-endian, object and structured arrays are
/// rejected with a FormatError naming the file and the header field.
#include <map>
#include <span>
#include <string>

#include "ir/tensor.h"
#include "serialization/io.h"

namespace mq::serialization {

/// Parses .npy bytes; `file` names the source in errors.
Tensor read_npy(std::span<const std::byte> bytes, const std::string& file);
/// Reads a .npy file.
Tensor load_npy(const std::string& path);
/// Writes `t` as a version 1 .npy (version 2 if the header needs it), header padded to 64.
void write_npy(ByteSink& out, const Tensor& t);
/// Writes a .npy file atomically.
void save_npy(const std::string& path, const Tensor& t);

/// Reads a .npz archive (stored or deflated members); keys are member names without ".npy".
std::map<std::string, Tensor> load_npz(const std::string& path);
/// Parses .npz bytes.
std::map<std::string, Tensor> read_npz(std::span<const std::byte> bytes, const std::string& file);
/// Writes a .npz archive (stored members, as numpy.savez) atomically.
void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays);

}  // namespace mq::serialization
