// Template: parse once, render many times (see jinja_template.h).
#include "libcore/tokenizer/jinja_template.h"

#include "libcore/error.h"
#include "libcore/tokenizer/jinja_parser.h"

namespace lamina::tokenizer::jinja {

Template::Template(std::string_view source)
    : body_(std::make_shared<const Body>(parse_template(source))) {}

std::string Template::render(const nlohmann::ordered_json& context,
                             const RenderOptions& options) const {
  if (!context.is_object()) throw Error("chat template: the render context must be a JSON object");
  return render(Value::from_json(context), options);
}

std::string Template::render(const Value& context, const RenderOptions& options) const {
  Interpreter interpreter(options);
  return interpreter.render(*body_, context);
}

}  // namespace lamina::tokenizer::jinja
