// Fuzzes config.json: parsing the shared model arguments and the quantization block, and
// building a model of the configured architecture from no weights (which must fail with
// a clean error naming the missing tensors, never crash or allocate without bound).
#include <cstdint>
#include <nlohmann/json.hpp>

#include "libcore/error.h"
#include "libcore/models/model.h"
#include "libcore/models/registry.h"
#include "quant/quantization_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lamina;
  nlohmann::json config = nlohmann::json::parse(data, data + size, nullptr, false);
  if (config.is_discarded()) return 0;
  try {
    quant::read_quantization_config(config, "config.json");
  } catch (const Error&) {
  }
  try {
    auto args = models::parse_base_args(config);
    (void)args;
    const auto& arch = models::find_architecture(config.value("model_type", ""));
    nn::WeightMap weights;
    arch.create(config, weights);
  } catch (const Error&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
