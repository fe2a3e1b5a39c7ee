// `lamina quantize`: a model directory -> an MLX affine-quantized model directory.
#include <memory>

#include "cli/command.h"
#include "cli/convert_summary.h"
#include "cli/progress_bar.h"
#include "libcore/convert/convert.h"

namespace lamina::cli {
namespace {

struct QuantizeFlags {
  std::string model, out, dtype, predicate;
  int bits = 4, group_size = 64;
  bool json = false, force = false;
};

CommandRunner setup_quantize(CLI::App& app) {
  auto flags = std::make_shared<QuantizeFlags>();
  app.add_option("--model", flags->model, "Model directory (Hugging Face or lamina/MLX, float)")->required();
  app.add_option("--out", flags->out, "Output directory")->required();
  app.add_option("--q-bits", flags->bits, "Bits per weight: 2, 3, 4, 5, 6 or 8 (default 4)");
  app.add_option("--q-group-size", flags->group_size, "Group size: 32, 64 or 128 (default 64)");
  app.add_option("--quant-predicate", flags->predicate,
                 "Mixed-precision recipe: mixed_2_6 | mixed_3_4 | mixed_3_6 | mixed_4_6")
      ->check(CLI::IsMember({"mixed_2_6", "mixed_3_4", "mixed_3_6", "mixed_4_6"}));
  app.add_option("--dtype", flags->dtype, "dtype of scales, biases and float layers (default: the config's)")
      ->check(CLI::IsMember({"float16", "bfloat16", "float32"}));
  app.add_flag("--json", flags->json, "Print a JSON summary on stdout");
  app.add_flag("--force", flags->force, "Replace an existing output directory");
  return [flags]() {
    convert::ConvertOptions options;
    options.hf_path = flags->model;
    options.mlx_path = flags->out;
    options.force = flags->force;
    if (!flags->dtype.empty()) options.dtype = core::dtype_from_name(flags->dtype);
    options.quantize = quant::QuantizeOptions{flags->bits, flags->group_size, flags->predicate};
    ProgressBar bar("quantizing");
    auto s = convert::convert_model(options, [&](uint64_t done, uint64_t total) { bar.update(done, total); });
    report_conversion(s, flags->json, "quantized");
    return 0;
  };
}

}  // namespace
LAMINA_COMMAND(quantize, "Quantize a model (MLX affine format, 2-8 bits)", setup_quantize);
}  // namespace lamina::cli
