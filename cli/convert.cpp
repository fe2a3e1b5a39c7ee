// `lamina convert`: Hugging Face checkpoint -> lamina/MLX model directory.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "libcore/convert/convert.h"

namespace lamina::cli {
namespace {

struct ConvertFlags {
  std::string hf_path, mlx_path = "mlx_model", dtype;
  bool force = false, json = false;
};

CommandRunner setup_convert(CLI::App& app) {
  auto flags = std::make_shared<ConvertFlags>();
  app.add_option("--hf-path", flags->hf_path, "Hugging Face model directory to convert")->required();
  app.add_option("--mlx-path", flags->mlx_path, "Output directory (default: mlx_model)");
  app.add_option("--dtype", flags->dtype, "float16 | bfloat16 | float32 (default: the config's dtype)")
      ->check(CLI::IsMember({"float16", "bfloat16", "float32"}));
  app.add_flag("--force", flags->force, "Replace an existing output directory");
  app.add_flag("--json", flags->json, "Print a JSON summary on stdout");
  return [flags]() {
    convert::ConvertOptions options;
    options.hf_path = flags->hf_path;
    options.mlx_path = flags->mlx_path;
    options.force = flags->force;
    if (!flags->dtype.empty()) options.dtype = core::dtype_from_name(flags->dtype);
    auto s = convert::convert_model(options);
    if (flags->json) {
      nlohmann::json j = {{"output", s.output},     {"model_type", s.model_type},
                          {"dtype", core::dtype_name(s.dtype)}, {"tensors", s.tensors},
                          {"bytes_in", s.bytes_in}, {"bytes_out", s.bytes_out},
                          {"seconds", s.seconds}};
      std::cout << j.dump() << "\n";
    } else {
      std::cerr << "converted " << s.tensors << " tensors (" << s.model_type << ", "
                << core::dtype_name(s.dtype) << ") to " << s.output << " in " << s.seconds << " s\n";
    }
    return 0;
  };
}

}  // namespace
LAMINA_COMMAND(convert, "Convert a Hugging Face model to a lamina/MLX model directory", setup_convert);
}  // namespace lamina::cli
