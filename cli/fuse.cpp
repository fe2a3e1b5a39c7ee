// `lamina fuse`: merges trained adapters into a model and writes a normal model directory
// (mlx_lm.fuse).
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "lora/fuse.h"

namespace lamina::cli {
namespace {

LAMINA_COMMAND(fuse, "Merge LoRA / DoRA / full fine-tuning adapters into a model (mlx_lm.fuse)",
               [](CLI::App& app) -> CommandRunner {
                 auto o = std::make_shared<lora::FuseOptions>();
                 app.add_option("--model,-m", o->model_dir, "Base model directory")->required();
                 app.add_option("--adapter-path", o->adapter_dir,
                                "Directory with adapters.safetensors and adapter_config.json")
                     ->required();
                 app.add_option("--save-path", o->save_path, "Output model directory")->required();
                 app.add_flag("--dequantize", o->dequantize, "Write float weights for a quantized base");
                 app.add_flag("--force", o->force, "Replace an existing output directory");
                 return [o] {
                   lora::FuseSummary s = lora::fuse_model(*o);
                   std::cerr << "Fused " << s.fused_layers << " layers into " << o->save_path
                             << (s.quantized_output ? " (re-quantized)" : "") << "\n";
                   return 0;
                 };
               });

}  // namespace
}  // namespace lamina::cli
