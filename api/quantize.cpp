// Calibration data, calibration and quantization over the engine's quantize API.
#include "api/convert.h"

namespace monoquant {

struct DataSource::Impl {
  std::unique_ptr<mq::CalibrationSource> source;
};

DataSource::DataSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DataSource::~DataSource() = default;
DataSource::DataSource(DataSource&&) noexcept = default;
DataSource& DataSource::operator=(DataSource&&) noexcept = default;

DataSource DataSource::tensors(std::vector<TensorMap> batches) {
  return guarded([&] {
    std::vector<mq::TensorMap> converted;
    for (const TensorMap& b : batches) converted.push_back(to_engine(b));
    return DataSource(std::make_unique<Impl>(Impl{std::make_unique<mq::TensorListSource>(std::move(converted))}));
  });
}

DataSource DataSource::callback(std::function<std::optional<TensorMap>()> next, std::function<void()> rewind) {
  if (!next) throw Error(ErrorKind::invalid_argument, "DataSource::callback: no next function");
  auto engine_next = [next = std::move(next)]() -> std::optional<mq::TensorMap> {
    std::optional<TensorMap> b = next();
    if (!b) return std::nullopt;
    return to_engine(*b);
  };
  return DataSource(std::make_unique<Impl>(
      Impl{std::make_unique<mq::CallbackSource>(std::move(engine_next), std::move(rewind))}));
}

DataSource DataSource::files(const Model& model, std::vector<std::string> paths, int64_t batch_size) {
  return guarded([&] {
    mq::FileSourceOptions o;
    o.batch_size = batch_size;
    return DataSource(
        std::make_unique<Impl>(Impl{std::make_unique<mq::FileSource>(model.impl().graph, std::move(paths), o)}));
  });
}

std::optional<TensorMap> DataSource::next() {
  return guarded([&]() -> std::optional<TensorMap> {
    std::optional<mq::TensorMap> b = impl_->source->next();
    if (!b) return std::nullopt;
    return to_public(*b);
  });
}

void DataSource::rewind() {
  guarded([&] { impl_->source->rewind(); });
}

struct Calibration::Impl {
  mq::Calibration calibration;
};

Calibration::Calibration(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Calibration::~Calibration() = default;
Calibration::Calibration(Calibration&&) noexcept = default;
Calibration& Calibration::operator=(Calibration&&) noexcept = default;

int64_t Calibration::samples() const { return impl_->calibration.samples(); }
std::vector<std::string> Calibration::values() const { return impl_->calibration.values(); }

void Calibration::save(const std::string& path) const {
  guarded([&] { impl_->calibration.save(path); }, path);
}

Calibration Calibration::load(const std::string& path) {
  return guarded([&] { return Calibration(std::make_unique<Impl>(Impl{mq::Calibration::load(path)})); }, path);
}

Calibration calibrate(const Model& model, DataSource& data, const CalibrationOptions& options) {
  return guarded([&] {
    mq::Calibration c = mq::calibrate(model.impl().graph, *data.impl().source, to_engine(options));
    return Calibration(std::make_unique<Calibration::Impl>(Calibration::Impl{std::move(c)}));
  });
}

Calibration calibrate(const Model& model, const std::vector<TensorMap>& batches,
                      const CalibrationOptions& options) {
  DataSource data = DataSource::tensors(batches);
  return calibrate(model, data, options);
}

namespace {
QuantizeResult to_public(mq::QuantizeResult q) {
  Report report = monoquant::to_public(q.info);
  return QuantizeResult{Model(std::make_shared<const Model::Impl>(Model::Impl{std::move(q.graph)})),
                        std::move(report)};
}
}  // namespace

QuantizeResult static_quantize(const Model& model, const Calibration& calibration, const QuantizeOptions& options,
                               DataSource* validation) {
  return guarded([&] {
    mq::QuantizeOptions o = to_engine(options);
    o.mode = mq::QuantMode::static_quant;
    return to_public(mq::static_quantize(model.impl().graph, calibration.impl().calibration, o,
                                         validation ? validation->impl().source.get() : nullptr));
  });
}

QuantizeResult dynamic_quantize(const Model& model, const QuantizeOptions& options, DataSource* validation) {
  return guarded([&] {
    mq::QuantizeOptions o = to_engine(options);
    o.mode = mq::QuantMode::dynamic_quant;
    return to_public(
        mq::dynamic_quantize(model.impl().graph, o, validation ? validation->impl().source.get() : nullptr));
  });
}

std::string Report::table() const { return to_engine(*this).table(); }
std::string Report::json() const { return to_engine(*this).json(); }

}  // namespace monoquant
