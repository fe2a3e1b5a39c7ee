// Tests of safetensors reading/writing, sharded checkpoints, atomic writes and the malformed
// files the reader must reject with one clear error.
#include "libcore/io/safetensors.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>

#include "libcore/error.h"
#include "libcore/io/atomic_file.h"
#include "libcore/io/mapped_file.h"
#include "libcore/ops/ops.h"
#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;
using core::Array;
using core::Dtype;

// ---- helpers ----

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from raw parts: the 8-byte length is `header_length` when given.
std::string raw_file(const std::string& header, const std::string& data,
                     std::optional<uint64_t> header_length = std::nullopt) {
  uint64_t n = header_length.value_or(header.size());
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &n, 8);
  return bytes + header + data;
}

// An array of random bytes of this shape and dtype (bool limited to 0/1).
Array random_bytes_array(const core::Shape& shape, Dtype dtype, uint32_t seed) {
  size_t n = static_cast<size_t>(core::shape_size(shape)) * core::size_of(dtype);
  std::vector<uint8_t> bytes(n);
  std::mt19937 gen(seed);
  for (auto& b : bytes) b = static_cast<uint8_t>(gen() & (dtype == Dtype::bool_ ? 1 : 0xff));
  return Array::from_bytes(bytes.data(), shape, dtype);
}

// The bytes of an array in row-major order.
std::string row_major_bytes(const Array& a) {
  Array c = core::contiguous(a);
  c.eval();
  return std::string(static_cast<const char*>(c.raw_data()), c.nbytes());
}

bool allocator_owned(const Array& a) { return a.buffer()->owned_by_allocator(); }

// Resident set size of this process in bytes (from /proc/self/statm).
uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("safetensors_") +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes `bytes` as bad.safetensors and expects loading to throw one lamina::Error whose
  // one-line message names the file and contains every fragment.
  void expect_rejected(const std::string& bytes, const std::vector<std::string>& fragments) {
    std::string file = path("bad.safetensors");
    write_bytes(file, bytes);
    try {
      io::load_safetensors(file);
      ADD_FAILURE() << "loading did not throw; expected: " << fragments.front();
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(file), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << msg;
    }
  }

  std::string dir_;
};

// ---- round trips ----

TEST_F(SafetensorsTest, RoundTripEveryDtype) {
  const Dtype dtypes[] = {Dtype::bool_,  Dtype::uint8,   Dtype::uint16,   Dtype::uint32,
                          Dtype::uint64, Dtype::int8,    Dtype::int16,    Dtype::int32,
                          Dtype::int64,  Dtype::float16, Dtype::bfloat16, Dtype::float32};
  io::NamedArrays tensors;
  uint32_t seed = 1;
  for (Dtype d : dtypes) {
    std::string n = core::dtype_name(d);
    tensors.emplace_back(n + ".matrix", random_bytes_array({3, 5}, d, seed++));
    tensors.emplace_back(n + ".scalar", random_bytes_array({}, d, seed++));
    tensors.emplace_back(n + ".empty", random_bytes_array({0, 4}, d, seed++));
    tensors.emplace_back(n + ".rank3", random_bytes_array({2, 1, 3}, d, seed++));
  }
  std::string file = path("all.safetensors");
  io::save_safetensors(file, tensors);
  // Header length prefix is a multiple of 8 (padded), so data starts 8-aligned.
  std::string bytes = read_bytes(file);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);

  auto loaded = io::load_safetensors(file);
  ASSERT_EQ(loaded.names.size(), tensors.size());
  EXPECT_TRUE(loaded.metadata.empty());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, expected] = tensors[i];
    EXPECT_EQ(loaded.names[i], name);  // file order is the order given
    const Array& got = loaded.tensors.at(name);
    EXPECT_EQ(got.dtype(), expected.dtype()) << name;
    EXPECT_EQ(got.shape(), expected.shape()) << name;
    EXPECT_TRUE(got.is_evaluated());
    EXPECT_EQ(row_major_bytes(got), row_major_bytes(expected)) << name;
  }
}

TEST_F(SafetensorsTest, DtypeCodes) {
  EXPECT_STREQ(io::safetensors_dtype_name(Dtype::bfloat16), "BF16");
  EXPECT_STREQ(io::safetensors_dtype_name(Dtype::bool_), "BOOL");
  EXPECT_EQ(io::dtype_from_safetensors("I64"), Dtype::int64);
  EXPECT_EQ(io::dtype_from_safetensors("F64"), std::nullopt);
}

TEST_F(SafetensorsTest, NonContiguousArraysAreWrittenRowMajor) {
  Array base = test::random_array({3, 4}, 7);
  Array transposed = core::transpose(base);                   // strided view
  Array sliced = core::slice(base, {0, 1}, {3, 4}, {2, 2});   // offset + steps
  Array broadcast = core::broadcast_to(Array(2.5f), {2, 3});  // stride 0
  Array lazy = core::add(base, Array(1.0f));                  // unevaluated
  io::NamedArrays tensors = {{"t", transposed}, {"s", sliced}, {"b", broadcast}, {"l", lazy}};
  std::string file = path("views.safetensors");
  io::save_safetensors(file, tensors);
  auto loaded = io::load_safetensors(file);
  for (const auto& [name, a] : tensors) {
    const Array& got = loaded.tensors.at(name);
    EXPECT_EQ(got.shape(), a.shape()) << name;
    test::expect_arrays_close(got, a, 0, 0);
  }
  EXPECT_EQ(loaded.tensors.at("t").shape(), (core::Shape{4, 3}));
}

TEST_F(SafetensorsTest, MetadataRoundTrip) {
  std::map<std::string, std::string> metadata = {
      {"format", "mlx"}, {"note", "äöü \"quoted\" \\ 日本"}, {"empty", ""}};
  std::string file = path("meta.safetensors");
  io::save_safetensors(file, {{"x", test::random_array({2}, 1)}}, metadata);
  auto loaded = io::load_safetensors(file);
  EXPECT_EQ(loaded.metadata, metadata);
  // A file with only metadata and no tensors is valid.
  io::save_safetensors(path("empty.safetensors"), {}, metadata);
  auto empty = io::load_safetensors(path("empty.safetensors"));
  EXPECT_TRUE(empty.names.empty());
  EXPECT_EQ(empty.metadata, metadata);
}

TEST_F(SafetensorsTest, SaveRejectsBadNames) {
  Array x = test::random_array({2}, 1);
  EXPECT_THROW(io::save_safetensors(path("a.safetensors"), {{"x", x}, {"x", x}}), Error);
  EXPECT_THROW(io::save_safetensors(path("b.safetensors"), {{"__metadata__", x}}), Error);
  EXPECT_TRUE(files_in(dir_).empty());
}

TEST_F(SafetensorsTest, ShardedRoundTrip) {
  io::NamedArrays tensors;
  for (int i = 0; i < 10; ++i) {
    tensors.emplace_back("layers." + std::to_string(i) + ".weight",
                         test::random_array({8, 16}, 100 + i));  // 512 bytes each
  }
  tensors.emplace_back("big", test::random_array({40, 16}, 99));  // 2560 > max: own shard
  std::string model = path("model");
  io::save_sharded(model, tensors, 1100, {{"format", "mlx"}});

  // 2 tensors per shard (1024 <= 1100), then the big one alone: 5 + 1 shards.
  std::vector<std::string> expected_files = {
      "model-00001-of-00006.safetensors", "model-00002-of-00006.safetensors",
      "model-00003-of-00006.safetensors", "model-00004-of-00006.safetensors",
      "model-00005-of-00006.safetensors", "model-00006-of-00006.safetensors",
      "model.safetensors.index.json"};
  EXPECT_EQ(files_in(model), expected_files);

  auto index = nlohmann::json::parse(read_bytes(model + "/model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), 10 * 512u + 2560u);
  EXPECT_EQ(index["weight_map"].size(), tensors.size());
  EXPECT_EQ(index["weight_map"]["layers.0.weight"], "model-00001-of-00006.safetensors");
  EXPECT_EQ(index["weight_map"]["layers.3.weight"], "model-00002-of-00006.safetensors");
  EXPECT_EQ(index["weight_map"]["big"], "model-00006-of-00006.safetensors");

  auto loaded = io::load_model_weights(model);
  EXPECT_EQ(loaded.files.size(), 6u);
  EXPECT_EQ(loaded.metadata.at("format"), "mlx");
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (const auto& [name, a] : tensors) test::expect_arrays_close(loaded.tensors.at(name), a, 0, 0);

  // Saving again into the same directory as one shard replaces the old shards.
  io::save_sharded(model, tensors);
  EXPECT_EQ(files_in(model),
            (std::vector<std::string>{"model.safetensors", "model.safetensors.index.json"}));
  auto single_index = nlohmann::json::parse(read_bytes(model + "/model.safetensors.index.json"));
  EXPECT_EQ(single_index["weight_map"]["big"], "model.safetensors");
  auto again = io::load_model_weights(model);
  EXPECT_EQ(again.tensors.size(), tensors.size());
  test::expect_arrays_close(again.tensors.at("big"), tensors.back().second, 0, 0);
}

TEST_F(SafetensorsTest, ModelDirectoryWithoutIndex) {
  std::string model = path("plain");
  fs::create_directories(model);
  io::save_safetensors(model + "/model.safetensors", {{"w", test::random_array({4}, 3)}});
  auto loaded = io::load_model_weights(model);
  EXPECT_EQ(loaded.names, std::vector<std::string>{"w"});

  std::string empty = path("empty");
  fs::create_directories(empty);
  EXPECT_THROW(io::load_model_weights(empty), Error);
}

TEST_F(SafetensorsTest, IndexNamesMissingShard) {
  std::string model = path("model");
  io::save_sharded(model, {{"a", test::random_array({64}, 1)}, {"b", test::random_array({64}, 2)}},
                   256);
  fs::remove(model + "/model-00002-of-00002.safetensors");
  try {
    io::load_model_weights(model);
    FAIL() << "no error for a missing shard";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("model-00002-of-00002.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  }
}

TEST_F(SafetensorsTest, IndexListsTensorAbsentFromShard) {
  std::string model = path("model");
  io::save_sharded(model, {{"a", test::random_array({64}, 1)}, {"b", test::random_array({64}, 2)}},
                   256);
  auto index = nlohmann::json::parse(read_bytes(model + "/model.safetensors.index.json"));
  index["weight_map"]["ghost"] = "model-00001-of-00002.safetensors";
  write_bytes(model + "/model.safetensors.index.json", index.dump());
  try {
    io::load_model_weights(model);
    FAIL() << "no error for a tensor missing from its shard";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("'ghost'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model-00001-of-00002.safetensors"), std::string::npos) << msg;
  }
}

TEST_F(SafetensorsTest, TensorInTwoShardsIsRejected) {
  std::string model = path("model");
  fs::create_directories(model);
  io::save_safetensors(model + "/model-00001-of-00002.safetensors",
                       {{"a", test::random_array({2}, 1)}});
  io::save_safetensors(model + "/model-00002-of-00002.safetensors",
                       {{"a", test::random_array({2}, 2)}});
  EXPECT_THROW(io::load_model_weights(model), Error);
}

// ---- zero copy ----

TEST_F(SafetensorsTest, LoadIsZeroCopy) {
  std::string file = test::testdata("models/tiny-llama/model.safetensors");
  size_t before = core::allocator::active_bytes();
  auto loaded = io::load_safetensors(file);
  EXPECT_EQ(core::allocator::active_bytes(), before);
  for (const auto& [name, a] : loaded.tensors) {
    EXPECT_FALSE(allocator_owned(a)) << name;
    EXPECT_EQ(a.buffer()->bytes(), a.nbytes()) << name;
  }
  // The arrays keep the mapping alive after the result struct is gone.
  Array embed = loaded.tensors.at("model.embed_tokens.weight");
  loaded = {};
  auto values = core::slice(embed, {0, 0}, {1, 4}).to_vector<float>();
  EXPECT_EQ(values.size(), 4u);
}

TEST_F(SafetensorsTest, ResidentMemoryGrowsOnlyWithPagesTouched) {
  // 64 MiB of float32; RSS after loading must stay far below that, and rise once read.
  constexpr int64_t kRows = 4096, kCols = 4096;
  std::string file = path("large.safetensors");
  {
    std::vector<float> zeros(static_cast<size_t>(kRows * kCols), 0.5f);
    io::save_safetensors(
        file, {{"big", Array::from_bytes(zeros.data(), {kRows, kCols}, Dtype::float32)}});
  }
  core::allocator::clear_cache();
  uint64_t rss0 = rss_bytes();
  auto loaded = io::load_safetensors(file);
  uint64_t rss1 = rss_bytes();
  EXPECT_LT(rss1 - std::min(rss1, rss0), uint64_t{8} << 20);
  const Array& big = loaded.tensors.at("big");
  const auto* p = big.data<uint8_t>();
  uint64_t sum = 0;
  for (size_t i = 0; i < big.nbytes(); i += 4096) sum += p[i + 3];  // high byte of 0.5f
  EXPECT_GT(sum, 0u);
  uint64_t rss2 = rss_bytes();
  EXPECT_GT(rss2 - std::min(rss2, rss0), uint64_t{48} << 20);
}

TEST_F(SafetensorsTest, MisalignedTensorIsCopied) {
  // "a" is 3 bytes of U8, so "b" (F32) starts at data byte 3: misaligned for float.
  std::string header = R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  float values[2] = {1.5f, -2.25f};
  std::string data = "\x01\x02\x03" + std::string(reinterpret_cast<char*>(values), 8);
  write_bytes(path("mis.safetensors"), raw_file(header, data));
  auto loaded = io::load_safetensors(path("mis.safetensors"));
  EXPECT_FALSE(allocator_owned(loaded.tensors.at("a")));
  EXPECT_TRUE(allocator_owned(loaded.tensors.at("b")));
  EXPECT_EQ(loaded.tensors.at("a").to_vector<int>(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(loaded.tensors.at("b").to_vector<float>(), (std::vector<float>{1.5f, -2.25f}));
}

// ---- malformed files: one test per case ----

// A valid one-tensor header: "x" F32 [2] at [0, 8].
const char* kGoodEntry = R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
const std::string kEightBytes(8, '\0');

TEST_F(SafetensorsTest, RejectsFileShorterThan8Bytes) {
  expect_rejected("abc", {"3 bytes", "fewer than the 8-byte"});
  expect_rejected("", {"0 bytes"});
}

TEST_F(SafetensorsTest, RejectsHeaderOver100MB) {
  expect_rejected(raw_file("{}", "", uint64_t{200'000'000}), {"header length 200000000", "limit"});
}

TEST_F(SafetensorsTest, RejectsHeaderPastEndOfFile) {
  expect_rejected(raw_file("{}", "", 1000), {"header length 1000", "past the end", "10 bytes"});
}

TEST_F(SafetensorsTest, RejectsInvalidJson) {
  expect_rejected(raw_file(R"({"x": {"dtype": )", ""), {"header is not valid JSON"});
  expect_rejected(raw_file("{\"x\":1}\x01", ""), {"header is not valid JSON"});
}

TEST_F(SafetensorsTest, RejectsHeaderThatIsNotAnObject) {
  expect_rejected(raw_file("[1, 2, 3]", ""), {"header is a JSON array, not an object"});
}

TEST_F(SafetensorsTest, RejectsMetadataThatIsNotStringToString) {
  expect_rejected(raw_file(R"({"__metadata__":{"format":1}})", ""),
                  {"\"__metadata__\" value of 'format' is not a string"});
  expect_rejected(raw_file(R"({"__metadata__":["pt"]})", ""),
                  {"\"__metadata__\" is not a JSON object"});
}

TEST_F(SafetensorsTest, RejectsUnknownDtype) {
  expect_rejected(raw_file(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", kEightBytes),
                  {"tensor 'x'", "unknown dtype \"Q4\""});
}

TEST_F(SafetensorsTest, RejectsUnsupportedRealDtypes) {
  for (const char* code : {"F64", "F8_E4M3", "F8_E5M2"}) {
    std::string header =
        std::string(R"({"x":{"dtype":")") + code + R"(","shape":[1],"data_offsets":[0,8]}})";
    expect_rejected(raw_file(header, kEightBytes),
                    {"tensor 'x'", std::string("dtype ") + code, "lamina does not support"});
  }
}

TEST_F(SafetensorsTest, RejectsNegativeDimension) {
  expect_rejected(
      raw_file(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", kEightBytes),
      {"tensor 'x'", "negative dimension"});
}

TEST_F(SafetensorsTest, RejectsNonIntegerDimension) {
  expect_rejected(
      raw_file(R"({"x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", kEightBytes),
      {"tensor 'x'", "non-integer dimension"});
  expect_rejected(
      raw_file(R"({"x":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", kEightBytes),
      {"tensor 'x'", "non-integer dimension"});
  expect_rejected(raw_file(R"({"x":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", kEightBytes),
                  {"tensor 'x'", "missing \"shape\" list"});
}

TEST_F(SafetensorsTest, RejectsShapeProductOverflow) {
  expect_rejected(
      raw_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
               kEightBytes),
      {"tensor 'x'", "too many elements"});
  // Fits int64 elements but not bytes (2^62 float32 = 2^64 bytes).
  expect_rejected(
      raw_file(R"({"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}})",
               kEightBytes),
      {"tensor 'x'", "too many bytes"});
}

TEST_F(SafetensorsTest, RejectsDataOffsetsNotTwoIntegers) {
  for (const char* offsets : {"[0]", "[0,8,9]", "[0,\"8\"]", "[-1,7]", "[0.0,8]", "7"}) {
    std::string header =
        std::string(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":)") + offsets + "}}";
    expect_rejected(raw_file(header, kEightBytes),
                    {"tensor 'x'", "\"data_offsets\" must be two non-negative integers"});
  }
  expect_rejected(raw_file(R"({"x":{"dtype":"F32","shape":[2]}})", kEightBytes),
                  {"tensor 'x'", "got nothing"});
}

TEST_F(SafetensorsTest, RejectsBeginAfterEnd) {
  expect_rejected(
      raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", kEightBytes),
      {"tensor 'x'", "begin 8 is after end 0"});
}

TEST_F(SafetensorsTest, RejectsSizeMismatch) {
  expect_rejected(
      raw_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kEightBytes),
      {"tensor 'x'", "hold 8 bytes", "needs 12"});
}

TEST_F(SafetensorsTest, RejectsDataBeyondEndOfFile) {
  std::string header = std::string("{") + kGoodEntry + "}";  // 54 bytes
  std::string file = raw_file(header, std::string(4, '\0'));
  uint64_t end = 8 + header.size() + 8;
  expect_rejected(file, {"tensor 'x' ends at byte " + std::to_string(end) + " but the file has " +
                         std::to_string(file.size()) + " bytes"});
  // Offsets near 2^64 must not wrap around in the check or the message.
  expect_rejected(
      raw_file(
          R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}})",
          kEightBytes),
      {"tensor 'x' ends at byte 1844674407370955", "but the file has"});
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  expect_rejected(raw_file(header, std::string(12, '\0')), {"tensors 'a'", "'b'", "overlap"});
}

TEST_F(SafetensorsTest, RejectsDuplicateTensorNames) {
  std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  expect_rejected(raw_file(header, kEightBytes), {"tensor 'x' appears more than once"});
  // A duplicate key inside one entry is as ambiguous.
  expect_rejected(
      raw_file(R"({"x":{"dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
               kEightBytes),
      {"key 'dtype' appears more than once"});
}

TEST_F(SafetensorsTest, RejectsEntryThatIsNotAnObject) {
  expect_rejected(raw_file(R"({"x":[1,2]})", ""), {"tensor 'x'", "not a JSON object"});
  expect_rejected(raw_file(R"({"x":{"shape":[2],"data_offsets":[0,8]}})", kEightBytes),
                  {"tensor 'x'", "missing or non-string \"dtype\""});
}

TEST_F(SafetensorsTest, AcceptsPaddedHeaderAndZeroSizeTensor) {
  std::string header = std::string("{") + kGoodEntry +
                       R"(,"e":{"dtype":"BF16","shape":[0,5],"data_offsets":[8,8]}})" + "     ";
  float values[2] = {3.0f, 4.0f};
  write_bytes(path("ok.safetensors"),
              raw_file(header, std::string(reinterpret_cast<char*>(values), 8)));
  auto loaded = io::load_safetensors(path("ok.safetensors"));
  EXPECT_EQ(loaded.tensors.at("x").to_vector<float>(), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_EQ(loaded.tensors.at("e").shape(), (core::Shape{0, 5}));
}

TEST_F(SafetensorsTest, MissingFileAndDirectoryAreErrors) {
  EXPECT_THROW(io::load_safetensors(path("nope.safetensors")), Error);
  EXPECT_THROW(io::load_safetensors(dir_), Error);
}

// ---- atomic writes ----

TEST_F(SafetensorsTest, AtomicFileRemovesTempWithoutCommit) {
  std::string target = path("out.bin");
  std::string temp;
  {
    io::AtomicFile f(target);
    temp = f.temp_path();
    f.write("hello");
    EXPECT_TRUE(fs::exists(temp));
    EXPECT_FALSE(fs::exists(target));
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_TRUE(files_in(dir_).empty());

  io::AtomicFile g(target);
  g.write("done");
  g.commit();
  EXPECT_EQ(read_bytes(target), "done");
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{"out.bin"});
}

TEST_F(SafetensorsTest, FailedWriteThrowsNamingFileAndLeavesNothing) {
  // RLIMIT_FSIZE makes write() fail with EFBIG, standing in for a full disk (ENOSPC).
  std::string file = path("model.safetensors");
  write_bytes(file, "old contents");
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    io::save_safetensors(file, {{"w", test::random_array({64, 64}, 5)}});
  } catch (const Error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(message.find("write failed"), std::string::npos) << message;
  // The old file is untouched and no temporary file is left behind.
  EXPECT_EQ(read_bytes(file), "old contents");
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{"model.safetensors"});
}

TEST_F(SafetensorsTest, FailedShardedSaveLeavesNothing) {
  std::string model = path("model");
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 8192;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  try {
    // The first shards fit; the big last one does not.
    io::save_sharded(model,
                     {{"a", test::random_array({256}, 1)},
                      {"b", test::random_array({256}, 2)},
                      {"c", test::random_array({64, 64}, 3)}},
                     1024);
  } catch (const Error&) {
    threw = true;
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(threw);
  EXPECT_TRUE(files_in(model).empty());
}

TEST_F(SafetensorsTest, MappedFileBasics) {
  write_bytes(path("f.bin"), "abcdef");
  auto m = io::MappedFile::open(path("f.bin"));
  ASSERT_EQ(m->size(), 6u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), 6), "abcdef");
  write_bytes(path("empty.bin"), "");
  EXPECT_EQ(io::MappedFile::open(path("empty.bin"))->size(), 0u);
  EXPECT_THROW(io::MappedFile::open(path("missing.bin")), Error);
}

// ---- the shared test models ----

int64_t config_int(const nlohmann::json& config, const char* key, int64_t fallback) {
  return config.contains(key) && config[key].is_number_integer() ? config[key].get<int64_t>()
                                                                 : fallback;
}

TEST_F(SafetensorsTest, LoadsEveryTestModel) {
  int models = 0;
  for (const auto& entry : fs::directory_iterator(test::testdata("models"))) {
    std::string dir = entry.path().string();
    if (!fs::exists(dir + "/model.safetensors")) continue;
    SCOPED_TRACE(dir);
    ++models;
    auto config = nlohmann::json::parse(read_bytes(dir + "/config.json"));
    auto weights = io::load_model_weights(dir);
    auto direct = io::load_safetensors(dir + "/model.safetensors");
    EXPECT_EQ(weights.names, direct.names);
    EXPECT_EQ(weights.metadata.at("format"), "pt");

    int64_t hidden = config["hidden_size"];
    int64_t vocab = config["vocab_size"];
    int64_t layers = config["num_hidden_layers"];
    int64_t heads = config["num_attention_heads"];
    int64_t kv_heads = config_int(config, "num_key_value_heads", heads);
    int64_t head_dim = config_int(config, "head_dim", hidden / heads);
    std::string dtype_name = config.contains("dtype") && config["dtype"].is_string()
                                 ? config["dtype"].get<std::string>()
                                 : config["torch_dtype"].get<std::string>();
    Dtype dtype = core::dtype_from_name(dtype_name);

    const auto& t = weights.tensors;
    EXPECT_EQ(t.at("model.embed_tokens.weight").shape(), (core::Shape{vocab, hidden}));
    EXPECT_EQ(t.at("model.norm.weight").shape(), (core::Shape{hidden}));
    bool tied = config.value("tie_word_embeddings", false);
    EXPECT_EQ(t.count("lm_head.weight"), tied ? 0u : 1u);
    std::set<int64_t> layer_ids;
    std::regex layer_re(R"(model\.layers\.(\d+)\..*)");
    for (const auto& [name, a] : t) {
      std::smatch m;
      if (std::regex_match(name, m, layer_re)) layer_ids.insert(std::stoll(m[1]));
      EXPECT_EQ(a.dtype(), dtype) << name;
      EXPECT_FALSE(allocator_owned(a)) << name;
    }
    EXPECT_EQ(static_cast<int64_t>(layer_ids.size()), layers);
    EXPECT_EQ(*layer_ids.rbegin(), layers - 1);
    for (int64_t l = 0; l < layers; ++l) {
      std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
      if (t.count(p + "q_proj.weight")) {
        EXPECT_EQ(t.at(p + "q_proj.weight").shape(), (core::Shape{heads * head_dim, hidden}));
        EXPECT_EQ(t.at(p + "k_proj.weight").shape(), (core::Shape{kv_heads * head_dim, hidden}));
        EXPECT_EQ(t.at(p + "v_proj.weight").shape(), (core::Shape{kv_heads * head_dim, hidden}));
        EXPECT_EQ(t.at(p + "o_proj.weight").shape(), (core::Shape{hidden, heads * head_dim}));
      } else {
        EXPECT_EQ(t.at(p + "qkv_proj.weight").shape(),
                  (core::Shape{(heads + 2 * kv_heads) * head_dim, hidden}));
      }
    }
    // reference.safetensors (float32 logits) loads too.
    auto reference = io::load_safetensors(dir + "/reference.safetensors");
    EXPECT_EQ(reference.tensors.at("logits_0").shape(), (core::Shape{vocab}));
    EXPECT_EQ(reference.tensors.at("logits_0").dtype(), Dtype::float32);

    // A save/load cycle reproduces the file's tensors byte for byte.
    io::NamedArrays named;
    for (const auto& n : direct.names) named.emplace_back(n, direct.tensors.at(n));
    std::string copy = path(entry.path().filename().string() + ".safetensors");
    io::save_safetensors(copy, named, direct.metadata);
    auto reloaded = io::load_safetensors(copy);
    for (const auto& n : direct.names) {
      EXPECT_EQ(row_major_bytes(reloaded.tensors.at(n)), row_major_bytes(direct.tensors.at(n)))
          << n;
    }
  }
  EXPECT_GE(models, 8);
}

}  // namespace
}  // namespace lamina
