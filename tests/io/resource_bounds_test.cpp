// Resource bounds on untrusted input: hostile safetensors headers, oversized JSON files and
// jsonl lines, runaway chat templates and a ten-million-character prompt are each refused
// by the lamina binary with one clear error line, in bounded time and memory. (The
// library-level checks of the same limits live in tests/io/safetensors_test.cpp and
// tests/tokenizer/jinja_test.cpp; here the whole command is measured as a child process.)
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "libcore/error.h"
#include "libcore/io/safetensors.h"
#include "libcore/io/text_file.h"
#include "tests/test_util.h"

extern char** environ;

namespace lamina {
namespace {

namespace fs = std::filesystem;

// Sanitizers multiply memory (shadow memory, quarantine): RSS bounds are only checked
// without them. Time bounds are generous enough for them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

constexpr double kMaxSeconds = 30.0;
constexpr long kMaxResidentKilobytes = 2L << 20;  // 2 GB

struct Measured {
  int exit_code = -1;
  std::string out, err;
  double seconds = 0;
  long max_rss_kb = 0;  // of the child alone (wait4)
};

// Runs `lamina <args>` (no shell) with stdin from `stdin_file` ("" = /dev/null) and stdout,
// stderr into files under `scratch`, and measures its wall time and peak resident memory.
// The child shares this process's memory until exec, so its ru_maxrss also counts this
// process's peak: an upper bound, which is what the checks need.
Measured run_measured(const std::vector<std::string>& args, const std::string& scratch,
                      const std::string& stdin_file = "") {
  const std::string out_file = scratch + "/stdout.txt", err_file = scratch + "/stderr.txt";
  std::vector<std::string> strings{LAMINA_BINARY};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_file.empty() ? "/dev/null" : stdin_file.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  Measured m;
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ADD_FAILURE() << "posix_spawn: " << std::strerror(spawned);
    return m;
  }
  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.max_rss_kb = usage.ru_maxrss;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  m.out = test::read_text_file(out_file);
  m.err = test::read_text_file(err_file);
  return m;
}

// A refusal: exit 1, nothing on stdout, one error line holding every `needles` entry, in
// bounded time and (unsanitized) memory.
void expect_bounded_refusal(const Measured& m, const std::vector<std::string>& needles, const std::string& what) {
  EXPECT_EQ(m.exit_code, 1) << what << "\n" << m.err;
  EXPECT_EQ(m.out, "") << what;
  const std::string tag = "lamina: error: ";
  const size_t at = m.err.find(tag);
  ASSERT_NE(at, std::string::npos) << what << "\n" << m.err;
  EXPECT_EQ(m.err.find(tag, at + 1), std::string::npos) << what << "\n" << m.err;
  const std::string line = m.err.substr(at);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << what << "\n" << m.err;
  for (const auto& needle : needles) EXPECT_NE(line.find(needle), std::string::npos) << what << ": " << needle << "\n" << line;
  EXPECT_LT(m.seconds, kMaxSeconds) << what;
  if (!kSanitized) {
    EXPECT_LT(m.max_rss_kb, kMaxResidentKilobytes) << what;
  }
  std::cout << "[ bounds   ] " << what << ": " << m.seconds << " s, " << m.max_rss_kb / 1024 << " MB\n";
}

std::string zoo_model() { return LAMINA_SOURCE_DIR "/tests/data/zoo/valid"; }

// A copy of the zoo's valid model (its regular files) at `to`.
std::string copy_model(const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(zoo_model())) fs::copy_file(e.path(), to + "/" + e.path().filename().string());
  return to;
}

// A safetensors file whose 8-byte length prefix is followed by `header` and `data_bytes` zero bytes.
void write_safetensors(const std::string& path, const std::string& header, size_t data_bytes) {
  std::ofstream f(path, std::ios::binary);
  const uint64_t n = header.size();
  f.write(reinterpret_cast<const char*>(&n), sizeof(n));
  f << header << std::string(data_bytes, '\0');
}

// A file of `bytes` bytes that starts with `prefix`: sparse, so it costs no disk or time.
void write_sparse(const std::string& path, const std::string& prefix, uint64_t bytes) {
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << prefix; }
  fs::resize_file(path, bytes);
}

class ResourceBoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("bounds_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ResourceBoundsTest, HeaderClaimingATrillionElementsIsRefusedWithoutAllocating) {
  const std::string file = dir_ + "/huge.safetensors";
  write_safetensors(file, R"({"x":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}})", 8);
  expect_bounded_refusal(run_measured({"inspect", file}, dir_), {file, "tensor 'x' ends at byte", "but the file has"},
                         "10^12 elements");
  // Element count past int64 (the message wording is tested in safetensors_test).
  write_safetensors(file, R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8);
  expect_bounded_refusal(run_measured({"inspect", file}, dir_), {file, "tensor 'x'", "too many elements"},
                         "shape product overflow");
}

TEST_F(ResourceBoundsTest, MillionsOfTensorsAreRefusedBeforeTheHeaderIsParsed) {
  // Just under the 100 MB header limit: about 1.8 million zero-size tensors, which would
  // take tens of seconds and gigabytes to parse and index.
  std::string header = "{";
  for (int i = 0; header.size() < 99'000'000; ++i) {
    if (i > 0) header += ',';
    header += "\"t" + std::to_string(i) + "\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}";
  }
  header += '}';
  const std::string file = dir_ + "/many.safetensors";
  write_safetensors(file, header, 0);
  header = std::string();
  expect_bounded_refusal(run_measured({"inspect", file}, dir_), {file, "header lists more than 200000 tensors"},
                         "millions of tensors");
}

TEST_F(ResourceBoundsTest, TensorLimitIsExact) {
  // 200000 tensors (and metadata) load; one more does not.
  std::string header = "{\"__metadata__\":{\"format\":\"mlx\"}";
  for (int i = 0; i < 200'000; ++i) {
    header += ",\"t" + std::to_string(i) + "\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}";
  }
  const std::string file = dir_ + "/limit.safetensors";
  write_safetensors(file, header + "}", 0);
  EXPECT_EQ(io::load_safetensors(file).names.size(), 200'000u);
  write_safetensors(file, header + ",\"one_more\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0);
  try {
    io::load_safetensors(file);
    ADD_FAILURE() << "200001 tensors loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file + ": header lists more than 200000 tensors"), std::string::npos)
        << e.what();
  }
}

TEST_F(ResourceBoundsTest, GigabyteJsonFilesAreRefusedBeforeTheyAreRead) {
  // A 1 GB JSON string in each JSON file generate reads, and in the chat template.
  const uint64_t gigabyte = uint64_t{1} << 30;
  const std::vector<std::pair<std::string, std::string>> files = {
      {"config.json", "{\"model_type\": \"llama\", \"name\": \""},
      {"tokenizer.json", "{\"model\": {\"type\": \""},
      {"tokenizer_config.json", "{\"eos_token\": \""},
      {"chat_template.jinja", "{{ '"},
      {"model.safetensors.index.json", "{\"weight_map\": {\""},
  };
  for (const auto& [name, prefix] : files) {
    const std::string model = copy_model(dir_ + "/" + name);
    write_sparse(model + "/" + name, prefix, gigabyte);
    expect_bounded_refusal(run_measured({"generate", "-m", model, "-p", "hi", "--max-tokens", "1"}, dir_),
                           {model + "/" + name, "1073741824 bytes, more than the 67108864-byte limit"}, name);
  }
  // A config.json that is not a regular file (its size unknown until read): cut off at the
  // limit while reading.
  const std::string model = copy_model(dir_ + "/endless");
  fs::remove(model + "/config.json");
  fs::create_symlink("/dev/zero", model + "/config.json");
  expect_bounded_refusal(run_measured({"generate", "-m", model, "-p", "hi"}, dir_),
                         {model + "/config.json", "larger than the 67108864-byte limit"}, "config.json -> /dev/zero");
}

TEST_F(ResourceBoundsTest, RunawayChatTemplatesStopThroughTheCli) {
  const std::vector<std::pair<std::string, std::string>> templates = {
      {"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "loop iterations"},
      {"{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "bytes"},
      {"{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nested deeper than"},
  };
  const std::string model = copy_model(dir_ + "/model");
  for (const auto& [source, fault] : templates) {
    std::ofstream(model + "/chat_template.jinja", std::ios::trunc) << source;
    expect_bounded_refusal(run_measured({"generate", "-m", model, "-p", "hi"}, dir_),
                           {model + "/chat_template.jinja", fault}, source);
  }
}

TEST_F(ResourceBoundsTest, TenMillionCharacterPromptIsRefusedAgainstTheContext) {
  // Tokenizing ten million characters takes over ten seconds with a SentencePiece-style
  // tokenizer (the whole text is one word); the prompt is refused from its size first.
  const std::string prompt_file = dir_ + "/prompt.txt";
  {
    std::ofstream f(prompt_file, std::ios::binary);
    const std::string words = "the quick brown fox jumps over the lazy dog, once upon a time ";
    for (size_t written = 0; written < 10'000'000; written += words.size()) f << words;
  }
  const auto size = std::to_string(fs::file_size(prompt_file));
  for (const std::string& model : {zoo_model(), test::testdata("models/tiny-llama")}) {
    for (bool chat_template : {true, false}) {
      std::vector<std::string> args = {"generate", "-m", model, "--prompt", "-"};
      if (!chat_template) args.push_back("--ignore-chat-template");
      expect_bounded_refusal(run_measured(args, dir_, prompt_file),
                             {"the prompt is " + size + " bytes, more than the model's context of", "--max-kv-size"},
                             "10M-character prompt to " + model + (chat_template ? "" : " without chat template"));
    }
  }
  // An endless prompt on stdin stops at the 256 MB cap on what is read.
  expect_bounded_refusal(run_measured({"generate", "-m", zoo_model(), "--prompt", "-"}, dir_, "/dev/zero"),
                         {"the prompt on standard input is larger than 268435456 bytes"}, "endless stdin");
  // The same as one line typed into chat.
  expect_bounded_refusal(run_measured({"chat", "-m", zoo_model()}, dir_, prompt_file),
                         {"the prompt is " + size + " bytes, more than the model's context of"}, "10M-character chat line");
}

TEST_F(ResourceBoundsTest, HundredMegabyteJsonlLineIsRefused) {
  const std::string data = dir_ + "/data";
  fs::create_directories(data);
  {
    std::ofstream f(data + "/train.jsonl", std::ios::binary);
    f << "{\"text\": \"a fine first example\"}\n{\"text\": \"" << std::string(100'000'000, 'a') << "\"}\n";
  }
  std::ofstream(data + "/valid.jsonl") << "{\"text\": \"a fine example\"}\n";
  const auto m = run_measured({"lora", "--model", zoo_model(), "--train", "--data", data, "--adapter-path",
                               dir_ + "/adapters", "--iters", "1", "--batch-size", "1", "--num-layers", "1"},
                              dir_);
  expect_bounded_refusal(m, {data + "/train.jsonl:2:", "longer than 8388608 bytes"}, "100 MB jsonl line");
  EXPECT_FALSE(fs::exists(dir_ + "/adapters/adapters.safetensors"));
}

TEST_F(ResourceBoundsTest, TextFileLimitIsExact) {
  const std::string file = dir_ + "/small.json";
  std::ofstream(file, std::ios::binary) << std::string(100, 'x');
  EXPECT_EQ(io::read_text_file(file, 100).size(), 100u);
  try {
    io::read_text_file(file, 99);
    ADD_FAILURE() << "a file over the limit was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file + ": the file has 100 bytes, more than the 99-byte limit"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(io::read_text_file(dir_ + "/missing.json"), Error);
}

}  // namespace
}  // namespace lamina
