// What convert and quantize print: the log of layers left in float (stderr) and the
// --json summary (stdout) or a one-line summary (stderr).
#pragma once

#include <iostream>
#include <nlohmann/json.hpp>

#include "libcore/convert/convert.h"

namespace lamina::cli {

inline void report_conversion(const convert::ConvertSummary& s, bool json, const char* verb) {
  for (const auto& [module, reason] : s.left_in_float) {
    std::cerr << "lamina: left in float: " << module << " (" << reason << ")\n";
  }
  if (json) {
    nlohmann::json left = nlohmann::json::array();
    for (const auto& [module, reason] : s.left_in_float) left.push_back({{"module", module}, {"reason", reason}});
    nlohmann::json j = {{"output", s.output},
                        {"model_type", s.model_type},
                        {"dtype", core::dtype_name(s.dtype)},
                        {"tensors", s.tensors},
                        {"bytes_in", s.bytes_in},
                        {"bytes_out", s.bytes_out},
                        {"bytes_before", s.bytes_in},
                        {"bytes_after", s.bytes_out},
                        {"parameters", s.parameters},
                        {"bits_per_weight", s.bits_per_weight},
                        {"quantized", s.quantized},
                        {"quantized_modules", s.quantized_modules},
                        {"left_in_float", left},
                        {"seconds", s.seconds}};
    std::cout << j.dump() << "\n";
  } else {
    std::cerr << verb << " " << s.tensors << " tensors (" << s.model_type << ", "
              << core::dtype_name(s.dtype) << ", " << s.bits_per_weight << " bits per weight, "
              << s.bytes_in << " -> " << s.bytes_out << " bytes) to " << s.output << " in "
              << s.seconds << " s\n";
  }
}

}  // namespace lamina::cli
