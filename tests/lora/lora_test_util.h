// Shared setup of the LoRA tests: tiny-llama in float32 with lora-ref's adapters.
#pragma once

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "libcore/models/loader.h"
#include "libcore/tokenizer/tokenizer.h"
#include "lora/adapters.h"
#include "lora/dataset.h"
#include "tests/test_util.h"

namespace lamina::test {

inline nlohmann::json lora_reference() {
  std::ifstream f(testdata("lora-ref/reference.json"));
  return nlohmann::json::parse(f);
}

// lora-ref's settings: rank 4, scale 2, q_proj and v_proj of every layer.
inline lora::AdapterConfig reference_adapter_config() {
  lora::AdapterConfig c;
  c.fine_tune_type = "lora";
  c.num_layers = -1;
  c.rank = 4;
  c.scale = 2.0f;
  c.keys = {"self_attn.q_proj", "self_attn.v_proj"};
  return c;
}

inline models::LoadedModel load_tiny_llama_f32() {
  models::LoadOptions o;
  o.dtype = core::Dtype::float32;
  return models::load_model(testdata("models/tiny-llama"), o);
}

// lora-ref's train.jsonl as examples: BOS, no EOS.
inline std::vector<lora::Example> reference_examples(const tokenizer::Tokenizer& tok) {
  lora::TextEncoder e;
  e.tokenizer = &tok;
  e.append_eos = false;
  return lora::load_jsonl(testdata("lora-ref/train.jsonl"), e);
}

}  // namespace lamina::test
