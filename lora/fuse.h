// Fusing trained adapters into a model's weights (mlx_lm.fuse): W' = W + scale B^T A^T
// (DoRA: rescaled by m / ||W'||), re-quantized to the layer's bits and group size when the
// base is quantized unless `dequantize`, written as a normal model directory.
#pragma once

#include <string>

namespace lamina::lora {

struct FuseOptions {
  std::string model_dir;
  std::string adapter_dir;
  std::string save_path;
  bool dequantize = false;  // write float weights (and drop the quantization block)
  bool force = false;       // replace an existing save_path
};

struct FuseSummary {
  int fused_layers = 0;
  bool quantized_output = false;
};

// Loads the model and adapters, fuses, and writes save_path atomically (a temporary
// directory renamed into place when complete). Throws lamina::Error on any failure,
// leaving nothing at save_path.
FuseSummary fuse_model(const FuseOptions& options);

}  // namespace lamina::lora
