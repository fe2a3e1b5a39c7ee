// Typed, checked access to the fields of tokenizer.json components: every failure becomes a
// lamina::Error that names the file and the component ("tokenizer.json: decoder: ...").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace lamina::tokenizer {

using Json = nlohmann::json;

// Throws lamina::Error("<where>: <what>").
[[noreturn]] void fail(const std::string& where, const std::string& what);

// The member `key` of `object`; throws when `object` is not an object or lacks it.
const Json& require_field(const Json& object, const char* key, const std::string& where);
// The string member `key`; throws when missing or not a string.
std::string require_string(const Json& object, const char* key, const std::string& where);
// The string member `key`, or `fallback` when missing or null; throws on another type.
std::string optional_string(const Json& object, const char* key, const std::string& fallback,
                            const std::string& where);
// The boolean member `key`, or `fallback` when missing or null; throws on another type.
bool optional_bool(const Json& object, const char* key, bool fallback, const std::string& where);
// The integer member `key`, or `fallback` when missing or null; throws on another type.
int64_t optional_int(const Json& object, const char* key, int64_t fallback,
                     const std::string& where);
// The "type" of a component object, e.g. "ByteLevel".
std::string component_type(const Json& object, const std::string& where);

// The regex a pattern value stands for: {"String": s} (matched literally), {"Regex": r},
// or a bare string (literal).
std::string pattern_to_regex(const Json& pattern, const std::string& where);

}  // namespace lamina::tokenizer
