// Conversions between the public API's types and the engine's.
#include "api/convert.h"

namespace monoquant {

// The public DType lists the engine's element types in the engine's order.
static_assert(int(DType::f32) == int(mq::DType::f32) && int(DType::f64) == int(mq::DType::f64) &&
              int(DType::u8) == int(mq::DType::u8) && int(DType::u64) == int(mq::DType::u64) &&
              int(DType::boolean) == int(mq::DType::boolean));

mq::DType to_engine(DType t) { return static_cast<mq::DType>(t); }
DType to_public(mq::DType t) {
  if (int(t) > int(mq::DType::boolean)) return DType::undefined;
  return static_cast<DType>(t);
}

mq::Tensor to_engine(const Tensor& t) {
  if (t.empty()) return {};
  auto& src = const_cast<Tensor&>(t);  // the engine reads its inputs; it never writes them
  // an owned tensor's memory stays alive as long as the engine holds the view
  std::shared_ptr<void> keep = std::make_shared<Tensor>(t);
  return mq::Tensor(to_engine(t.dtype()), t.dims(), mq::Storage::borrow(src.raw(), t.nbytes(), std::move(keep)));
}

Tensor to_public(const mq::Tensor& t) {
  if (t.dtype() == mq::DType::undefined) return Tensor();
  auto& src = const_cast<mq::Tensor&>(t);  // a zero-element tensor may have no storage
  return Tensor::shared(to_public(t.dtype()), t.dims(), src.raw(), t.storage());
}

mq::TensorMap to_engine(const TensorMap& m) {
  mq::TensorMap out;
  for (const auto& [name, t] : m) out.emplace(name, to_engine(t));
  return out;
}

TensorMap to_public(const mq::TensorMap& m) {
  TensorMap out;
  for (const auto& [name, t] : m) out.emplace(name, to_public(t));
  return out;
}

TensorInfo info_of(const mq::Value& v) {
  TensorInfo info;
  info.name = v.name();
  info.dtype = to_public(v.dtype());
  for (const mq::Dim& d : v.type().shape.dims()) {
    info.dims.push_back(d.is_static() ? d.value : -1);
    info.dim_names.push_back(d.is_static() ? std::string() : d.symbol);
  }
  return info;
}

namespace {

mq::LayerSelection to_engine(const LayerSelection& s) {
  mq::LayerSelection out;
  out.types = s.types;
  out.include = s.include;
  out.exclude = s.exclude;
  return out;
}

std::vector<mq::StateLink> to_engine(const std::vector<StateLink>& links) {
  std::vector<mq::StateLink> out;
  for (const StateLink& l : links) out.push_back({l.output, l.input});
  return out;
}

mq::ObserverOptions to_engine(const ObserverOptions& o) {
  mq::ObserverOptions out;
  switch (o.kind) {
    case ObserverKind::minmax: out.kind = mq::ObserverKind::minmax; break;
    case ObserverKind::moving_average: out.kind = mq::ObserverKind::moving_average; break;
    case ObserverKind::percentile: out.kind = mq::ObserverKind::percentile; break;
    case ObserverKind::entropy: out.kind = mq::ObserverKind::entropy; break;
    case ObserverKind::mse: out.kind = mq::ObserverKind::mse; break;
    case ObserverKind::auto_select: out.kind = mq::ObserverKind::auto_select; break;
    default: mq::fail<mq::InvalidArgument>("unknown observer kind ", int(o.kind));
  }
  out.axis = o.axis;
  out.averaging_constant = o.averaging_constant;
  out.percentile = o.percentile;
  out.bins = o.bins;
  out.quantized_bins = o.quantized_bins;
  return out;
}

}  // namespace

mq::CalibrationOptions to_engine(const CalibrationOptions& o) {
  mq::CalibrationOptions out;
  out.observer = to_engine(o.observer);
  out.max_samples = o.max_samples;
  out.threads = o.threads;
  out.layers = to_engine(o.layers);
  out.state = to_engine(o.state);
  out.progress = o.progress;
  return out;
}

mq::QuantizeOptions to_engine(const QuantizeOptions& o) {
  mq::QuantizeOptions out;
  out.layers = to_engine(o.layers);
  out.per_channel_weights = o.per_channel_weights;
  out.reduce_range_weights = o.reduce_range_weights;
  out.activation_type = to_engine(o.activation_type);
  out.symmetric_activations = o.symmetric_activations;
  out.fuse_activations = o.fuse_activations;
  out.static_float_outputs = o.static_float_outputs;
  out.int8_outputs = o.int8_outputs;
  out.float_output_assembly = o.float_output_assembly;
  out.validate = o.validate;
  switch (o.on_failure) {
    case OnFailure::error: out.on_failure = mq::OnFailure::error; break;
    case OnFailure::warn: out.on_failure = mq::OnFailure::warn; break;
    case OnFailure::ignore: out.on_failure = mq::OnFailure::ignore; break;
    default: mq::fail<mq::InvalidArgument>("unknown on_failure value ", int(o.on_failure));
  }
  out.min_sqnr_db = o.min_sqnr_db;
  out.fail_below_sqnr_db = o.fail_below_sqnr_db;
  out.validation_samples = o.validation_samples;
  out.state = to_engine(o.state);
  out.round_trip_format = o.round_trip_format;
  out.threads = o.threads;
  return out;
}

namespace {
// The report's fields, listed once for both directions.
template <class From, class To>
void copy_report(const From& f, To& t) {
  t.mode = f.mode;
  t.size_before = f.size_before;
  t.size_after = f.size_after;
  t.file_size = f.file_size;
  t.model_sqnr_db = f.model_sqnr_db;
  t.calibration_samples = f.calibration_samples;
  t.validation_samples = f.validation_samples;
  t.round_trip_checked = f.round_trip_checked;
  t.round_trip_ok = f.round_trip_ok;
  t.round_trip_format = f.round_trip_format;
  t.fallback_layers = f.fallback_layers;
  t.problems = f.problems;
  t.seconds = f.seconds;
  t.layers.clear();
  for (const auto& l : f.layers) {
    auto& o = t.layers.emplace_back();
    o.name = l.name;
    o.type = l.type;
    o.pattern = l.pattern;
    o.quantized = l.quantized;
    o.scheme = l.scheme;
    o.activation = l.activation;
    o.weight_sqnr_db = l.weight_sqnr_db;
    o.output_sqnr_db = l.output_sqnr_db;
    o.has_output_sqnr = l.has_output_sqnr;
    o.weight_bytes_fp32 = l.weight_bytes_fp32;
    o.weight_bytes_int8 = l.weight_bytes_int8;
    o.fell_back = l.fell_back;
  }
  t.outputs.clear();
  for (const auto& r : f.outputs) t.outputs.push_back({r.name, r.sqnr_db, r.max_abs_error});
}
}  // namespace

Report to_public(const mq::QuantizationInfo& info) {
  Report r;
  copy_report(info, r);
  return r;
}

mq::QuantizationInfo to_engine(const Report& r) {
  mq::QuantizationInfo info;
  copy_report(r, info);
  return info;
}

}  // namespace monoquant
