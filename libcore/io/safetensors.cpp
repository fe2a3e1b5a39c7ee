// safetensors: strict header validation, zero-copy loading over an mmap, streamed atomic
// writing, and the sharded model layout (model.safetensors.index.json) mlx-lm uses.
#include "libcore/io/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string_view>

#include "libcore/error.h"
#include "libcore/io/atomic_file.h"
#include "libcore/io/mapped_file.h"
#include "libcore/io/text_file.h"
#include "libcore/ops/views.h"

namespace lamina::io {

// The format is little-endian; lamina maps its bytes straight into arrays.
static_assert(std::endian::native == std::endian::little, "lamina assumes a little-endian host");

namespace fs = std::filesystem;
// std::map-backed JSON: ordered_json looks keys up linearly, which is quadratic for headers of
// MoE checkpoints with tens of thousands of tensors. File order is recorded by KeyScanner.
using Json = nlohmann::json;

namespace {

constexpr size_t kLengthPrefixBytes = 8;
// The limit the reference implementation (safetensors crate) enforces on the header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr size_t kHeaderAlignment = 8;
// The most tensors lamina reads from one file. Real shards hold thousands at most (an MoE
// checkpoint with unstacked experts spreads them over many shards); the 100 MB header alone
// would allow about two million, whose parse takes tens of seconds and gigabytes.
constexpr size_t kMaxTensorsPerFile = 200'000;
constexpr const char* kMetadataKey = "__metadata__";

struct DtypeCode {
  const char* code;
  core::Dtype dtype;
};
constexpr std::array<DtypeCode, core::kNumDtypes> kDtypeCodes = {{
    {"BOOL", core::Dtype::bool_},
    {"U8", core::Dtype::uint8},
    {"I8", core::Dtype::int8},
    {"U16", core::Dtype::uint16},
    {"I16", core::Dtype::int16},
    {"F16", core::Dtype::float16},
    {"BF16", core::Dtype::bfloat16},
    {"U32", core::Dtype::uint32},
    {"I32", core::Dtype::int32},
    {"F32", core::Dtype::float32},
    {"U64", core::Dtype::uint64},
    {"I64", core::Dtype::int64},
}};
// Real safetensors dtypes lamina has no array type for: named so the error can say so.
constexpr std::array<const char*, 8> kUnsupportedCodes = {"F64", "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                                          "F4",  "F6_E2M3", "F6_E3M2", "C64"};

std::string supported_codes() {
  std::string s;
  for (const auto& d : kDtypeCodes) s += (s.empty() ? "" : " ") + std::string(d.code);
  return s;
}

// Offsets may be near 2^64; their sum with the data start must still print exactly.
std::string u128_string(unsigned __int128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(s.begin(), s.end());
  return s;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; users need the rest.
std::string json_error_text(const std::exception& e) {
  std::string s = e.what();
  auto pos = s.find("] ");
  return pos == std::string::npos ? s : s.substr(pos + 2);
}

// A SAX pass over JSON that finds the first duplicate key of any object and the top-level
// keys in file order. (nlohmann's DOM parser silently keeps one of two equal keys, and its
// callback parser is quadratic in the number of keys of an object.)
class KeyScanner {
 public:
  using string_t = Json::string_t;
  // Stops the scan at the first top-level key past `max_tensors` (keys other than
  // "__metadata__").
  explicit KeyScanner(size_t max_tensors) : max_tensors_(max_tensors) {}
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(Json::number_integer_t) { return true; }
  bool number_unsigned(Json::number_unsigned_t) { return true; }
  bool number_float(Json::number_float_t, const string_t&) { return true; }
  bool string(string_t&) { return true; }
  bool binary(Json::binary_t&) { return true; }
  bool start_object(std::size_t) {
    ++depth_;
    open_objects_.emplace_back();
    return true;
  }
  bool key(string_t& key) {
    if (!open_objects_.back().insert(key).second) {
      if (duplicate.empty()) {
        duplicate = key;
        duplicate_depth = depth_;
      }
    } else if (depth_ == 1) {
      if (key != kMetadataKey && ++tensors_ > max_tensors_) {
        too_many_tensors = true;
        return false;  // stops the scan
      }
      top_level_keys.push_back(key);
    }
    return true;
  }
  bool end_object() {
    --depth_;
    open_objects_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    ++depth_;
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;  // the DOM parse that ran first has reported it already
  }

  std::vector<std::string> top_level_keys;
  std::string duplicate;
  int duplicate_depth = 0;
  bool too_many_tensors = false;

 private:
  size_t max_tensors_;
  size_t tensors_ = 0;
  int depth_ = 0;
  std::vector<std::set<std::string>> open_objects_;
};

// Parses JSON text, rejecting duplicate keys in any object (which tensor a file "means"
// would otherwise be up to the parser) and a top-level object of more than `max_tensors`
// keys besides "__metadata__". When `top_level_keys` is given, it receives the top-level
// object's keys in file order.
Json parse_json_strict(std::string_view text, const std::string& what, const char* description,
                       std::vector<std::string>* top_level_keys = nullptr,
                       size_t max_tensors = std::numeric_limits<size_t>::max()) {
  // The key scan comes first: it stops at the limit, before a DOM of millions of entries
  // is built.
  KeyScanner scanner(max_tensors);
  Json::sax_parse(text.begin(), text.end(), &scanner);
  if (scanner.too_many_tensors) {
    throw Error(what + ": " + description + " lists more than " + std::to_string(max_tensors) +
                " tensors, the most lamina reads from one file");
  }
  Json result;
  try {
    result = Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": " + description + " is not valid JSON: " + json_error_text(e));
  }
  if (!scanner.duplicate.empty()) {
    if (scanner.duplicate_depth == 1 && std::string_view(description) == "header") {
      throw Error(what + ": tensor '" + scanner.duplicate +
                  "' appears more than once in the header");
    }
    throw Error(what + ": key '" + scanner.duplicate +
                "' appears more than once in one object of the " + description);
  }
  if (top_level_keys != nullptr) *top_level_keys = std::move(scanner.top_level_keys);
  return result;
}

struct TensorEntry {
  std::string name;
  core::Dtype dtype;
  core::Shape shape;
  uint64_t begin;
  uint64_t end;
};

core::Dtype parse_dtype(const Json& entry, const std::string& where) {
  auto it = entry.find("dtype");
  if (it == entry.end() || !it->is_string())
    throw Error(where + ": missing or non-string \"dtype\"");
  auto code = it->get<std::string>();
  if (auto dtype = dtype_from_safetensors(code)) return *dtype;
  for (const char* unsupported : kUnsupportedCodes) {
    if (code == unsupported) {
      throw Error(where + ": dtype " + code + " is a safetensors dtype lamina does not support" +
                  " (supported: " + supported_codes() + ")");
    }
  }
  throw Error(where + ": unknown dtype \"" + code + "\" (supported: " + supported_codes() + ")");
}

core::Shape parse_shape(const Json& entry, const std::string& where) {
  auto it = entry.find("shape");
  if (it == entry.end() || !it->is_array()) throw Error(where + ": missing \"shape\" list");
  core::Shape shape;
  for (const auto& dim : *it) {
    if (!dim.is_number_integer()) {
      throw Error(where + ": shape " + it->dump() + " has a non-integer dimension");
    }
    if (dim.is_number_unsigned() &&
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw Error(where + ": shape " + it->dump() + " has too many elements");
    }
    auto d = dim.get<int64_t>();
    if (d < 0) throw Error(where + ": shape " + it->dump() + " has a negative dimension");
    shape.push_back(d);
  }
  return shape;
}

TensorEntry parse_tensor_entry(const std::string& path, const std::string& name, const Json& entry,
                               uint64_t data_bytes, uint64_t data_start) {
  std::string where = path + ": tensor '" + name + "'";
  if (!entry.is_object()) throw Error(where + ": header entry is not a JSON object");
  TensorEntry t{name, parse_dtype(entry, where), parse_shape(entry, where), 0, 0};
  int64_t count = core::checked_shape_size(t.shape, where);

  auto it = entry.find("data_offsets");
  bool offsets_ok = it != entry.end() && it->is_array() && it->size() == 2 &&
                    (*it)[0].is_number_unsigned() && (*it)[1].is_number_unsigned();
  if (!offsets_ok) {
    throw Error(where + ": \"data_offsets\" must be two non-negative integers, got " +
                (it == entry.end() ? std::string("nothing") : it->dump()));
  }
  t.begin = (*it)[0].get<uint64_t>();
  t.end = (*it)[1].get<uint64_t>();
  if (t.begin > t.end) {
    throw Error(where + ": data_offsets begin " + std::to_string(t.begin) + " is after end " +
                std::to_string(t.end));
  }
  auto itemsize = static_cast<uint64_t>(core::size_of(t.dtype));
  if (static_cast<uint64_t>(count) > std::numeric_limits<uint64_t>::max() / itemsize) {
    throw Error(where + ": shape " + core::shape_string(t.shape) + " has too many bytes");
  }
  uint64_t expected = static_cast<uint64_t>(count) * itemsize;
  if (t.end - t.begin != expected) {
    throw Error(where + ": data_offsets [" + std::to_string(t.begin) + ", " +
                std::to_string(t.end) + "] hold " + std::to_string(t.end - t.begin) +
                " bytes but shape " + core::shape_string(t.shape) + " of " +
                safetensors_dtype_name(t.dtype) + " needs " + std::to_string(expected));
  }
  if (t.end > data_bytes) {
    auto file_bytes = static_cast<unsigned __int128>(data_start) + data_bytes;
    throw Error(where + " ends at byte " +
                u128_string(static_cast<unsigned __int128>(data_start) + t.end) +
                " but the file has " + u128_string(file_bytes) + " bytes");
  }
  return t;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const Json& value) {
  if (!value.is_object()) throw Error(path + ": \"__metadata__\" is not a JSON object");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      throw Error(path + ": \"__metadata__\" value of '" + key + "' is not a string (" +
                  v.type_name() + ")");
    }
    metadata[key] = v.get<std::string>();
  }
  return metadata;
}

// Valid files pack tensors without overlap; overlapping ones alias each other's bytes.
void check_overlaps(const std::string& path, std::vector<const TensorEntry*> entries) {
  std::erase_if(entries, [](const TensorEntry* e) { return e->begin == e->end; });
  std::sort(entries.begin(), entries.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    const auto* prev = entries[i - 1];
    const auto* cur = entries[i];
    if (cur->begin < prev->end) {
      throw Error(path + ": tensors '" + prev->name + "' (data bytes " +
                  std::to_string(prev->begin) + "-" + std::to_string(prev->end) + ") and '" +
                  cur->name + "' (data bytes " + std::to_string(cur->begin) + "-" +
                  std::to_string(cur->end) + ") overlap");
    }
  }
}

// Returns s as a JSON string literal; names must be UTF-8 for any reader to parse them.
std::string json_string(const std::string& s, const std::string& path) {
  try {
    return Json(s).dump();
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": name or metadata '" + s + "' is not valid UTF-8");
  }
}

// Writes one safetensors file's bytes into `out` (not committed). With `release`, each
// handle in `tensors` is reset once its bytes are written.
void write_safetensors(AtomicFile& out, NamedArrays& tensors,
                       const std::map<std::string, std::string>& metadata, bool release = false,
                       const TensorWrittenCallback& on_written = {}) {
  const std::string& path = out.target();
  // The header is assembled entry by entry: it must keep the given order, and a JSON object
  // type that does would look every key up linearly.
  std::string text = "{";
  if (!metadata.empty()) {
    text += json_string(kMetadataKey, path) + ":{";
    for (const auto& [k, v] : metadata) {
      if (text.back() != '{') text += ",";
      text += json_string(k, path) + ":" + json_string(v, path);
    }
    text += "}";
  }
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, array] : tensors) {
    if (name == kMetadataKey) throw Error(path + ": a tensor cannot be named " + name);
    if (!seen.insert(name).second) throw Error(path + ": tensor '" + name + "' given twice");
    if (!array.valid()) throw Error(path + ": tensor '" + name + "' is an empty array handle");
    uint64_t bytes = array.nbytes();
    Json entry = {{"dtype", safetensors_dtype_name(array.dtype())},
                  {"shape", array.shape()},
                  {"data_offsets", {offset, offset + bytes}}};
    if (text.size() > 1) text += ",";
    text += json_string(name, path) + ":" + entry.dump();
    offset += bytes;
  }
  text += "}";
  // Spaces are valid trailing JSON; padding puts the data (and so most tensors) 8-aligned.
  text.append((kHeaderAlignment - text.size() % kHeaderAlignment) % kHeaderAlignment, ' ');
  if (text.size() > kMaxHeaderBytes) {
    throw Error(path + ": header of " + std::to_string(text.size()) + " bytes exceeds the " +
                std::to_string(kMaxHeaderBytes) + "-byte limit readers enforce");
  }
  std::array<uint8_t, kLengthPrefixBytes> prefix{};
  uint64_t n = text.size();
  std::memcpy(prefix.data(), &n, sizeof(n));
  out.write(prefix.data(), prefix.size());
  out.write(text);
  // One tensor at a time, so only one copy of a non-contiguous array is alive at once.
  for (auto& [name, array] : tensors) {
    core::Array a = array;
    if (release) array = core::Array();
    a.eval();
    if (!a.is_row_contiguous()) {
      a = core::contiguous(a);
      a.eval();
    }
    if (a.nbytes() > 0) out.write(a.raw_data(), a.nbytes());
    const uint64_t bytes = a.nbytes();
    a = core::Array();
    if (on_written) on_written(name, bytes);
  }
}

bool is_weight_file_name(const std::string& name) {
  static const std::regex shard(R"(model-\d{5}-of-\d{5}\.safetensors)");
  return name == kSingleWeightsFile || std::regex_match(name, shard);
}

std::string shard_name(size_t i, size_t n) {
  if (n == 1) return kSingleWeightsFile;
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf.data();
}

// Combines the files of a sharded checkpoint, remembering where each tensor came from so
// that a tensor stored twice is reported with both files.
class ShardMerger {
 public:
  explicit ShardMerger(std::string dir) : dir_(std::move(dir)) {}
  void add(SafetensorsData part) {
    const std::string& file = part.files.front();
    if (all_.files.empty()) all_.metadata = part.metadata;
    for (auto& name : part.names) {
      auto [it, inserted] = origin_.emplace(name, file);
      if (!inserted) {
        throw Error(dir_ + ": tensor '" + name + "' is in both " + it->second + " and " + file);
      }
      all_.tensors.emplace(name, part.tensors.at(name));
      all_.names.push_back(name);
    }
    all_.files.push_back(file);
  }
  SafetensorsData take() { return std::move(all_); }

 private:
  std::string dir_;
  SafetensorsData all_;
  std::map<std::string, std::string> origin_;
};

SafetensorsData load_indexed(const fs::path& dir, const fs::path& index_path) {
  std::string index_name = index_path.string();
  Json index = parse_json_strict(read_text_file(index_name), index_name, "index");
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(index_name + ": has no \"weight_map\" object");
  }
  // Shard file -> the tensors the index puts there; sorted by file name (shard order).
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string())
      throw Error(index_name + ": weight_map entry '" + name + "' is not a string");
    auto shard = file.get<std::string>();
    // Shards live beside the index; a path would let a checkpoint read arbitrary files.
    // 255 bytes: NAME_MAX of Linux file systems (a longer name cannot exist).
    if (shard.empty() || shard.size() > 255 || shard.find_first_of(std::string("/\0", 2)) != std::string::npos ||
        shard == "." || shard == "..") {
      throw Error(index_name + ": weight_map entry '" + name + "' names '" + shard +
                  "', which is not a file name in the model directory");
    }
    shards[shard].push_back(name);
  }
  ShardMerger merger(dir.string());
  for (const auto& [shard, names] : shards) {
    fs::path shard_path = dir / shard;
    std::error_code ec;
    if (!fs::exists(shard_path, ec)) {
      throw Error(index_name + ": shard '" + shard + "' (holding tensor '" + names.front() +
                  "') does not exist");
    }
    SafetensorsData part = load_safetensors(shard_path.string());
    for (const auto& name : names) {
      if (part.tensors.count(name) == 0) {
        throw Error(shard_path.string() + ": tensor '" + name + "' is listed in " +
                    kWeightsIndexFile + " but is not in this shard");
      }
    }
    merger.add(std::move(part));
  }
  return merger.take();
}

}  // namespace

const char* safetensors_dtype_name(core::Dtype dtype) {
  for (const auto& d : kDtypeCodes) {
    if (d.dtype == dtype) return d.code;
  }
  throw Error(std::string("no safetensors dtype for ") + core::dtype_name(dtype));
}

std::optional<core::Dtype> dtype_from_safetensors(const std::string& code) {
  for (const auto& d : kDtypeCodes) {
    if (code == d.code) return d.dtype;
  }
  return std::nullopt;
}

SafetensorsData load_safetensors(const std::string& path) {
  auto file = MappedFile::open(path);
  const uint64_t file_bytes = file->size();
  if (file_bytes < kLengthPrefixBytes) {
    throw Error(path + ": file has " + std::to_string(file_bytes) +
                " bytes, fewer than the 8-byte header length of a safetensors file");
  }
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, file->data(), sizeof(header_bytes));
  if (header_bytes > kMaxHeaderBytes) {
    throw Error(path + ": header length " + std::to_string(header_bytes) + " exceeds the " +
                std::to_string(kMaxHeaderBytes) + "-byte limit (not a safetensors file?)");
  }
  if (header_bytes > file_bytes - kLengthPrefixBytes) {
    throw Error(path + ": header length " + std::to_string(header_bytes) +
                " runs past the end of the file (" + std::to_string(file_bytes) + " bytes)");
  }
  const uint64_t data_start = kLengthPrefixBytes + header_bytes;
  const uint64_t data_bytes = file_bytes - data_start;
  std::string_view text(reinterpret_cast<const char*>(file->data()) + kLengthPrefixBytes,
                        header_bytes);
  std::vector<std::string> order;
  Json header = parse_json_strict(text, path, "header", &order, kMaxTensorsPerFile);
  if (!header.is_object()) {
    throw Error(path + ": header is a JSON " + std::string(header.type_name()) + ", not an object");
  }

  SafetensorsData result;
  result.files.push_back(path);
  std::vector<TensorEntry> entries;
  entries.reserve(order.size());
  for (const auto& key : order) {
    const Json& value = header.at(key);
    if (key == kMetadataKey) {
      result.metadata = parse_metadata(path, value);
    } else {
      entries.push_back(parse_tensor_entry(path, key, value, data_bytes, data_start));
    }
  }
  std::vector<const TensorEntry*> pointers;
  for (const auto& e : entries) pointers.push_back(&e);
  check_overlaps(path, std::move(pointers));

  const uint8_t* data = file->data() + data_start;
  for (const auto& e : entries) {
    const uint8_t* p = data + e.begin;
    size_t bytes = e.end - e.begin;
    core::Array array;
    // The mapping starts page-aligned, so a tensor is aligned iff its file offset is.
    if ((data_start + e.begin) % static_cast<uint64_t>(core::size_of(e.dtype)) == 0) {
      // The Buffer's owner is the mapping: it stays mapped while any array uses it. The
      // const_cast is safe because arrays from files are never written (not allocator-owned,
      // so never donated as an output).
      auto buffer = std::make_shared<core::Buffer>(const_cast<uint8_t*>(p), bytes,
                                                   std::shared_ptr<const void>(file));
      array = core::Array::from_buffer(std::move(buffer), 0, e.shape,
                                       core::row_major_strides(e.shape), e.dtype);
    } else {
      // Kernels read elements through typed pointers; a misaligned one must be copied.
      array = core::Array::from_bytes(p, e.shape, e.dtype);
    }
    result.names.push_back(e.name);
    result.tensors.emplace(e.name, std::move(array));
  }
  return result;
}

void save_safetensors(const std::string& path, const NamedArrays& tensors,
                      const std::map<std::string, std::string>& metadata) {
  AtomicFile out(path);
  NamedArrays handles = tensors;
  write_safetensors(out, handles, metadata);
  out.commit();
}

SafetensorsData load_model_weights(const std::string& dir) {
  fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Error(dir + ": not a directory");
  fs::path index_path = root / kWeightsIndexFile;
  if (fs::exists(index_path, ec)) return load_indexed(root, index_path);
  fs::path single = root / kSingleWeightsFile;
  if (fs::exists(single, ec)) return load_safetensors(single.string());
  // Shards without an index: take every model*.safetensors, as mlx-lm's loader does.
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("model") && name.ends_with(".safetensors")) {
      files.push_back(entry.path().string());
    }
  }
  if (files.empty()) {
    throw Error(dir + ": no " + kSingleWeightsFile + ", " + kWeightsIndexFile +
                " or model*.safetensors");
  }
  std::sort(files.begin(), files.end());
  ShardMerger merger(dir);
  for (const auto& f : files) merger.add(load_safetensors(f));
  return merger.take();
}

void save_sharded(const std::string& dir, const NamedArrays& tensors, uint64_t max_shard_bytes,
                  const std::map<std::string, std::string>& metadata) {
  save_sharded_streaming(dir, tensors, max_shard_bytes, metadata);
}

void save_sharded_streaming(const std::string& dir, NamedArrays tensors, uint64_t max_shard_bytes,
                            const std::map<std::string, std::string>& metadata,
                            const TensorWrittenCallback& on_written) {
  if (max_shard_bytes == 0) throw Error(dir + ": the maximum shard size must be positive");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the directory: " + ec.message());

  // Greedy packing in the given order, as mlx-lm's make_shards does.
  std::vector<NamedArrays> shards(1);
  uint64_t shard_bytes = 0;
  uint64_t total_bytes = 0;
  std::set<std::string> seen;
  for (auto& [name, array] : tensors) {
    if (!seen.insert(name).second) throw Error(dir + ": tensor '" + name + "' given twice");
    if (!array.valid()) throw Error(dir + ": tensor '" + name + "' is an empty array handle");
    uint64_t bytes = array.nbytes();
    if (!shards.back().empty() && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().emplace_back(name, std::move(array));
    shard_bytes += bytes;
    total_bytes += bytes;
  }

  tensors.clear();  // the shards hold the handles now

  // Nothing is renamed into place until every file is complete.
  std::vector<std::unique_ptr<AtomicFile>> files;
  nlohmann::json weight_map = nlohmann::json::object();  // sorted by name, as mlx-lm writes it
  std::set<std::string> written;
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string name = shard_name(i, shards.size());
    written.insert(name);
    files.push_back(std::make_unique<AtomicFile>((fs::path(dir) / name).string()));
    for (const auto& entry : shards[i]) weight_map[entry.first] = name;
    write_safetensors(*files.back(), shards[i], metadata, true, on_written);
  }
  nlohmann::json index = {{"metadata", {{"total_size", total_bytes}}},
                          {"weight_map", std::move(weight_map)}};
  files.push_back(std::make_unique<AtomicFile>((fs::path(dir) / kWeightsIndexFile).string()));
  files.back()->write(index.dump(4) + "\n");
  for (auto& f : files) f->commit();

  // Weight files of an earlier save would be picked up by model*.safetensors globbing
  // loaders (mlx-lm's among them) next to the new ones: remove the ones not written now.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (is_weight_file_name(name) && written.count(name) == 0) fs::remove(entry.path(), ec);
  }
}

}  // namespace lamina::io
