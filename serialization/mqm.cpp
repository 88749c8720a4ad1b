// .mqm: placeholder until the FlatBuffers format lands.
#include "serialization/serialization.h"

namespace mq::serialization {
void save_mqm(const Graph&, const std::string& path) { fail<UnsupportedError>(path, ": .mqm not implemented yet"); }
Graph load_mqm(const std::string& path) { fail<UnsupportedError>(path, ": .mqm not implemented yet"); }
}  // namespace mq::serialization
