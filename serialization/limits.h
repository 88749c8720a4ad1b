#pragma once
/// Resource limits of every file reader: what a hostile file can make monoquant allocate or
/// do. Each limit is far above what a real model needs; a file that exceeds one is a
/// FormatError naming the file, never a huge allocation or a hang.
#include <cstddef>
#include <cstdint>

namespace mq::serialization::limits {

/// Elements of one tensor (2^48, also bounded by the bytes really present in the file).
inline constexpr uint64_t kMaxTensorElements = uint64_t(1) << 48;
/// Bytes one zip member (.npz array, torch record) may inflate to.
inline constexpr uint64_t kMaxDecompressedBytes = uint64_t(16) << 30;
/// The most bytes deflate can produce per compressed byte (zlib's 1032:1 bound).
inline constexpr uint64_t kMaxDeflateRatio = 1032;
/// Nesting depth of containers (tuple / list / dict / call) in a pickle.
inline constexpr size_t kMaxPickleDepth = 200;
/// Objects a pickle may create, and references its containers may hold in total.
inline constexpr size_t kMaxPickleObjects = size_t(1) << 19;
/// Memo entries of a pickle.
inline constexpr size_t kMaxPickleMemo = size_t(1) << 19;
/// Bytes the tensors of a torch archive may take, as a multiple of the archive's size (a
/// storage shared by several tensors is copied for each; tied weights need 2).
inline constexpr uint64_t kMaxTensorCopies = 16;
/// Nesting depth of subgraphs (If / Loop / Scan bodies inside bodies) in a saved graph.
inline constexpr int kMaxSubgraphDepth = 16;
/// (Names and values from a file are echoed in messages cut to mq::kMaxEchoedChars, ir/error.h.)

}  // namespace mq::serialization::limits
