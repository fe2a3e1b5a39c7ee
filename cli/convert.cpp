// `lamina convert`: Hugging Face checkpoint -> lamina/MLX model directory, optionally
// quantized (-q) or dequantized (--dequantize); mlx_lm.convert's flag names.
#include <memory>

#include "cli/command.h"
#include "cli/convert_summary.h"
#include "cli/progress_bar.h"
#include "libcore/convert/convert.h"

namespace lamina::cli {
namespace {

struct ConvertFlags {
  std::string hf_path, mlx_path = "mlx_model", dtype, predicate;
  bool force = false, json = false, quantize = false, dequantize = false;
  int bits = 4, group_size = 64;
};

CommandRunner setup_convert(CLI::App& app) {
  auto flags = std::make_shared<ConvertFlags>();
  app.add_option("--hf-path", flags->hf_path, "Hugging Face model directory to convert")->required();
  app.add_option("--mlx-path", flags->mlx_path, "Output directory (default: mlx_model)");
  app.add_option("--dtype", flags->dtype, "float16 | bfloat16 | float32 (default: the config's dtype)")
      ->check(CLI::IsMember({"float16", "bfloat16", "float32"}));
  app.add_flag("-q,--quantize", flags->quantize, "Quantize the weights (MLX affine format)");
  app.add_option("--q-bits", flags->bits, "Bits per weight: 2, 3, 4, 5, 6 or 8 (default 4)");
  app.add_option("--q-group-size", flags->group_size, "Group size: 32, 64 or 128 (default 64)");
  app.add_option("--quant-predicate", flags->predicate,
                 "Mixed-precision recipe: mixed_2_6 | mixed_3_4 | mixed_3_6 | mixed_4_6")
      ->check(CLI::IsMember({"mixed_2_6", "mixed_3_4", "mixed_3_6", "mixed_4_6"}));
  app.add_flag("--dequantize", flags->dequantize, "Turn a quantized model back into float weights");
  app.add_flag("--force", flags->force, "Replace an existing output directory");
  app.add_flag("--json", flags->json, "Print a JSON summary on stdout");
  return [flags]() {
    convert::ConvertOptions options;
    options.hf_path = flags->hf_path;
    options.mlx_path = flags->mlx_path;
    options.force = flags->force;
    options.dequantize = flags->dequantize;
    if (!flags->dtype.empty()) options.dtype = core::dtype_from_name(flags->dtype);
    if (flags->quantize) options.quantize = quant::QuantizeOptions{flags->bits, flags->group_size, flags->predicate};
    else if (!flags->predicate.empty()) throw Error("convert: --quant-predicate needs -q");
    ProgressBar bar("converting");
    auto s = convert::convert_model(options, [&](uint64_t done, uint64_t total) { bar.update(done, total); });
    report_conversion(s, flags->json, "converted");
    return 0;
  };
}

}  // namespace
LAMINA_COMMAND(convert, "Convert a Hugging Face model to a lamina/MLX model directory", setup_convert);
}  // namespace lamina::cli
