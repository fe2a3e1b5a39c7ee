// A parsed chat template (the Jinja subset Hugging Face chat templates use), rendered with
// transformers' environment settings: trim_blocks, lstrip_blocks, loop controls,
// raise_exception, strftime_now and a json.dumps-style tojson.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "libcore/tokenizer/jinja_ast.h"
#include "libcore/tokenizer/jinja_interpreter.h"
#include "libcore/tokenizer/jinja_value.h"

namespace lamina::tokenizer::jinja {

class Template {
 public:
  // Parses `source`; throws lamina::Error("chat template: line N: ...") on bad syntax.
  explicit Template(std::string_view source);

  // The rendered text for the variables in `context` (a JSON object, order kept).
  std::string render(const nlohmann::ordered_json& context,
                     const RenderOptions& options = {}) const;
  // Same, from a dict value.
  std::string render(const Value& context, const RenderOptions& options = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace lamina::tokenizer::jinja
