// Checked field access for tokenizer.json components (see json_fields.h).
#include "libcore/tokenizer/json_fields.h"

#include "libcore/error.h"
#include "libcore/tokenizer/regex.h"

namespace lamina::tokenizer {

void fail(const std::string& where, const std::string& what) { throw Error(where + ": " + what); }

const Json& require_field(const Json& object, const char* key, const std::string& where) {
  if (!object.is_object()) fail(where, "expected a JSON object");
  const auto it = object.find(key);
  if (it == object.end()) fail(where, std::string("missing field '") + key + "'");
  return *it;
}

std::string require_string(const Json& object, const char* key, const std::string& where) {
  const Json& value = require_field(object, key, where);
  if (!value.is_string()) fail(where, std::string("field '") + key + "' must be a string");
  return value.get<std::string>();
}

std::string optional_string(const Json& object, const char* key, const std::string& fallback,
                            const std::string& where) {
  if (!object.is_object()) fail(where, "expected a JSON object");
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(where, std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

bool optional_bool(const Json& object, const char* key, bool fallback, const std::string& where) {
  if (!object.is_object()) fail(where, "expected a JSON object");
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(where, std::string("field '") + key + "' must be true or false");
  return it->get<bool>();
}

int64_t optional_int(const Json& object, const char* key, int64_t fallback,
                     const std::string& where) {
  if (!object.is_object()) fail(where, "expected a JSON object");
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(where, std::string("field '") + key + "' must be an integer");
  return it->get<int64_t>();
}

std::string component_type(const Json& object, const std::string& where) {
  return require_string(object, "type", where);
}

// The regex a {"String": ...} or {"Regex": ...} pattern object stands for.
std::string pattern_to_regex(const Json& pattern, const std::string& where) {
  if (pattern.is_string()) return regex_escape(pattern.get<std::string>());
  if (!pattern.is_object()) fail(where, "'pattern' must be an object");
  if (pattern.contains("String")) return regex_escape(require_string(pattern, "String", where));
  if (pattern.contains("Regex")) return require_string(pattern, "Regex", where);
  fail(where, "'pattern' must have a 'String' or 'Regex' member");
}

}  // namespace lamina::tokenizer
