// `lamina perplexity`: sliding-window perplexity of a model over a text file.
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "cli/model_session.h"
#include "libcore/models/loader.h"
#include "libcore/models/non_finite_weights.h"
#include "libcore/tokenizer/tokenizer.h"
#include "quant/perplexity.h"

namespace lamina::cli {
namespace {

struct PerplexityFlags {
  std::string model, data, dtype, quantized_activations;
  int64_t context = 512, stride = 0;
  bool json = false;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

CommandRunner setup_perplexity(CLI::App& app) {
  auto flags = std::make_shared<PerplexityFlags>();
  app.add_option("--model", flags->model, "Model directory")->required();
  app.add_option("--data", flags->data, "Text file to score")->required();
  app.add_option("--context", flags->context, "Tokens per window (default 512)");
  app.add_option("--stride", flags->stride, "Tokens between window starts (default: context / 2)");
  app.add_option("--dtype", flags->dtype, "Compute dtype (default: the weights')")
      ->check(CLI::IsMember({"float16", "bfloat16", "float32"}));
  add_quantized_activations_flag(app, flags->quantized_activations);
  app.add_flag("--json", flags->json, "Print a JSON object on stdout");
  return [flags]() {
    std::string text = read_text(flags->data);
    models::LoadOptions load;
    if (!flags->dtype.empty()) load.dtype = core::dtype_from_name(flags->dtype);
    load.quantized_activations = quantized_activations_of(flags->quantized_activations);
    auto loaded = models::load_model(flags->model, load);
    auto tok = tokenizer::Tokenizer::load(flags->model);
    std::vector<int32_t> ids = tok.encode(text);
    quant::PerplexityOptions options{flags->context, flags->stride};
    auto r = quant::perplexity(*loaded.model, ids, options);
    if (!std::isfinite(r.mean_nll)) {
      // A NaN or infinite weight poisons every score: name it rather than print "nan".
      std::string cause = models::find_non_finite_weight(flags->model).value_or(
          flags->model + ": the model's logits are NaN or infinite though every weight is finite"
                         " (a float16 overflow? try --dtype float32)");
      throw Error(cause + ", so the perplexity is not a number");
    }
    if (flags->json) {
      nlohmann::json j = {{"perplexity", r.perplexity}, {"mean_nll", r.mean_nll},
                          {"tokens", r.tokens},         {"windows", r.windows},
                          {"seconds", r.seconds}};
      std::cout << j.dump() << "\n";
    } else {
      std::cout << "perplexity " << r.perplexity << " (" << r.tokens << " tokens, " << r.windows
                << " windows, " << r.seconds << " s)\n";
    }
    return 0;
  };
}

}  // namespace
LAMINA_COMMAND(perplexity, "Sliding-window perplexity of a model over a text file", setup_perplexity);
}  // namespace lamina::cli
