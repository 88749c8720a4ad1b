#pragma once
/// The graph description shared by the container formats (.safetensors, .pt): a JSON
/// document with the graph's name, opset, metadata, inputs, constants (name and type only;
/// their bytes live in the container), nodes (op by name, typed attributes, operands by
/// value name, outputs with their types) and outputs. Value types carry QuantParams.
/// docs/formats.md documents the schema.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace mq::serialization {

/// Version of the graph description schema written by graph_to_json: 2 when the graph has
/// subgraphs (graph attributes of If / Loop / Scan), else 1.
inline constexpr int kGraphJsonVersion = 2;

/// Describes `g` as compact JSON text.
std::string graph_to_json(const Graph& g);

/// Supplies a constant's data when a graph is rebuilt: (name, type from the description).
using ConstantSource = std::function<Tensor(const std::string& name, const ValueType& type)>;

/// Rebuilds a graph from graph_to_json's text. Constants come from `constants`; nodes are
/// added through the graph's API (types inferred), then every value gets the type recorded in
/// the description. Errors are FormatError / UnsupportedError prefixed with `file`.
Graph graph_from_json(const std::string& text, const ConstantSource& constants, const std::string& file);

/// Every constant of `g` and of its subgraphs with the key its bytes are stored under in a
/// container: the main graph's by name, a subgraph's as "<node>/<attribute>/<name>" (the
/// prefixes of the enclosing subgraphs first). ConstantSource receives these keys.
std::vector<std::pair<std::string, const Value*>> stored_constants(const Graph& g);

/// Type of a value as JSON text / from JSON text (also used by .mqm tests and tools).
std::string value_type_to_json(const ValueType& t);

}  // namespace mq::serialization
