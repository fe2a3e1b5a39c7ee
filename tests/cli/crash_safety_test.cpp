// Crash safety of the commands that write: `convert`, `quantize`, `fuse` and `lora`, killed
// with SIGKILL at random (seeded) moments, leave their output absent or complete (byte for
// byte what an uninterrupted run writes, and loadable), never partial; an output replaced
// with --force is always there; the temporaries a kill leaves are named as such and the
// next run removes them. A full disk (RLIMIT_FSIZE) gives exit status 1, one error line
// naming the file and nothing partial.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "libcore/io/temporary_files.h"
#include "libcore/models/loader.h"
#include "lora/adapters.h"
#include "lora/training_state.h"
#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const int kKills = 7;

std::string base_model() { return test::testdata("models/shakespeare-llama"); }
std::string lora_model() { return test::testdata("models/tiny-llama"); }

// What a command writes and how to tell its output is whole.
struct Command {
  std::string name;
  // The arguments that write `out` (with --force when `force`).
  std::function<std::vector<std::string>(const std::string& out, bool force)> args;
  // Checks that `out` is complete: the files of `reference` (an uninterrupted run's output)
  // and loadable.
  std::function<void(const std::string& out, const std::string& reference)> expect_complete;
  // Whether a killed run may leave `out` behind partly written by design: lora's adapter
  // directory fills checkpoint by checkpoint, each of them whole.
  bool directory_grows = false;
};

std::vector<std::string> sorted_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The same files with the same bytes; and the model loads.
void expect_model_complete(const std::string& out, const std::string& reference) {
  ASSERT_EQ(sorted_names(out), sorted_names(reference)) << out;
  for (const auto& name : sorted_names(reference)) {
    EXPECT_TRUE(test::read_text_file(out + "/" + name) == test::read_text_file(reference + "/" + name))
        << out << "/" << name << " differs from an uninterrupted run's";
  }
  EXPECT_NO_THROW(models::load_model(out)) << out;
}

// True when the file `path` has the bytes of one of the files of `dir` whose names end in `suffix`.
bool equals_one_of(const std::string& path, const std::string& dir, const std::string& suffix) {
  const std::string bytes = test::read_text_file(path);
  for (const auto& name : sorted_names(dir)) {
    if (name.ends_with(suffix) && bytes == test::read_text_file(dir + "/" + name)) return true;
  }
  return false;
}

// An adapter directory as a killed `lamina lora` leaves it: every file whole. Numbered
// checkpoints equal the uninterrupted run's and have their training state (written first);
// the unnumbered pair equals some numbered one, and the adapters load with their config.
void expect_adapters_complete(const std::string& out, const std::string& reference) {
  for (const auto& name : sorted_names(out)) {
    const std::string path = out + "/" + name;
    if (io::is_temporary_name(name)) continue;  // checked by the caller
    if (name == "adapter_config.json") {
      // The same settings (the reference run had another --adapter-path).
      auto got = nlohmann::json::parse(test::read_text_file(path));
      auto want = nlohmann::json::parse(test::read_text_file(reference + "/" + name));
      got.erase("adapter_path");
      want.erase("adapter_path");
      EXPECT_EQ(got, want) << path;
    } else if (name == "training_state.zst") {
      EXPECT_TRUE(equals_one_of(path, reference, "_training_state.zst")) << path << " is none of the checkpoints";
    } else if (name == "adapters.safetensors") {
      EXPECT_TRUE(equals_one_of(path, reference, "_adapters.safetensors")) << path << " is none of the checkpoints";
      auto loaded = models::load_model(lora_model());
      EXPECT_NO_THROW(lora::load_adapters(*loaded.model, out)) << out;
    } else if (name.ends_with("_training_state.zst")) {
      EXPECT_EQ(test::read_text_file(path), test::read_text_file(reference + "/" + name)) << path;
      EXPECT_NO_THROW(lora::load_training_state(path)) << path;
    } else if (name.ends_with("_adapters.safetensors")) {
      EXPECT_EQ(test::read_text_file(path), test::read_text_file(reference + "/" + name)) << path;
      EXPECT_TRUE(fs::exists(lora::training_state_path(path))) << path << " has no training state";
      EXPECT_EQ(lora::adapter_file_iteration(path), std::stoll(name.substr(0, name.find('_')))) << path;
    } else {
      ADD_FAILURE() << "unexpected file " << path;
    }
  }
}

class CrashSafety : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(test::temp_dir("crash_safety"));
    // lora's data.
    const std::string data = *root_ + "/data";
    fs::create_directories(data);
    for (const char* split : {"train", "valid"}) {
      std::ofstream f(data + "/" + split + ".jsonl");
      for (int i = 0; i < 24; ++i) {
        f << "{\"text\": \"Line " << i << ": the quick brown fox jumps over the lazy dog number " << (i * 7) % 13
          << ".\"}\n";
      }
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }

  // Adapters for fuse to merge, from a short complete run (made once, when first asked for).
  static std::string fuse_adapters() {
    const std::string dir = *root_ + "/fuse_adapters";
    if (!fs::exists(dir + "/adapters.safetensors")) {
      test::LaminaProcess p(lora_args(dir, 2, 2));
      EXPECT_EQ(p.wait(), 0) << p.err();
    }
    return dir;
  }

  static std::vector<std::string> lora_args(const std::string& out, int iters, int save_every) {
    return {"lora", "--model", lora_model(), "--train", "--data", *root_ + "/data", "--adapter-path", out,
            "--iters", std::to_string(iters), "--save-every", std::to_string(save_every), "--batch-size", "2",
            "--steps-per-report", "1", "--steps-per-eval", "1000", "--num-layers", "-1", "--threads", "2"};
  }

  // A command that writes a model directory: `args` then the output flag and OUT, plus
  // --force when asked.
  static Command model_command(const char* name, std::vector<std::string> args, const char* out_flag) {
    return {name,
            [args, out_flag](const std::string& out, bool force) {
              std::vector<std::string> a = args;
              a.insert(a.end(), {out_flag, out});
              if (force) a.push_back("--force");
              return a;
            },
            expect_model_complete};
  }
  static Command convert() {
    return model_command("convert", {"convert", "--hf-path", base_model(), "--dtype", "float32"}, "--mlx-path");
  }
  static Command quantize() {
    return model_command("quantize", {"quantize", "--model", base_model(), "--q-bits", "4"}, "--out");
  }
  static Command fuse() {
    return model_command("fuse", {"fuse", "--model", lora_model(), "--adapter-path", fuse_adapters()}, "--save-path");
  }
  static Command lora() {
    return {"lora", [](const std::string& out, bool) { return lora_args(out, 12, 2); }, expect_adapters_complete,
            true};
  }

  // Checks that every entry of `dir` but `out_name` is a temporary of `out_name`; returns
  // how many there are.
  static int temporaries_beside(const std::string& dir, const std::string& out_name) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name == out_name) continue;
      EXPECT_TRUE(io::is_temporary_name(name, out_name)) << "unexpected leftover " << e.path();
      ++n;
    }
    return n;
  }
  // How many temporaries (of any file) `dir` holds.
  static int temporaries_in(const std::string& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += io::is_temporary_name(e.path().filename().string());
    return n;
  }

  // An uninterrupted run (the reference and the run time), kills at random moments of it
  // (odd ones with --force over a complete output, which must then never be missing), and a
  // last run that must remove every temporary the kills left.
  void check_kills(const Command& command, uint32_t seed) {
    const std::string dir = *root_ + "/" + command.name;
    const std::string out = dir + "/out", reference = *root_ + "/" + command.name + "_reference";
    fs::create_directories(dir);
    const auto reference_args = command.args(reference, false);
    auto start = Clock::now();
    {
      test::LaminaProcess p(reference_args);
      ASSERT_EQ(p.wait(), 0) << p.err();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> moment(0.0, seconds);
    int killed_midway = 0;
    for (int kill = 0; kill < kKills; ++kill) {
      const bool force = kill % 2 == 1 && !command.directory_grows;
      if (force && !fs::exists(out)) fs::copy(reference, out);
      if (!force) fs::remove_all(out);
      const double delay = moment(random);
      test::LaminaProcess p(command.args(out, force));
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      p.send_signal(SIGKILL);
      const int status = p.wait();
      SCOPED_TRACE(command.name + ": kill " + std::to_string(kill) + " after " + std::to_string(delay) + " s");
      if (status != 0) {
        EXPECT_EQ(status, 128 + SIGKILL) << p.err();
        ++killed_midway;
      }
      if (force) {
        EXPECT_TRUE(fs::exists(out)) << "--force lost the old output";
      }
      if (fs::exists(out)) command.expect_complete(out, reference);
      temporaries_beside(dir, "out");
    }
    EXPECT_GT(killed_midway, 0) << "no kill landed while " << command.name << " ran";
    // A later run cleans up after the killed ones.
    test::LaminaProcess last(command.args(out, true));
    ASSERT_EQ(last.wait(), 0) << last.err();
    command.expect_complete(out, reference);
    EXPECT_EQ(temporaries_beside(dir, "out"), 0);
    if (command.directory_grows) {
      EXPECT_EQ(temporaries_in(out), 0);
    }
  }

  // A write failing with EFBIG after `limit` bytes: exit status 1, one error line naming the
  // file in `out` and the reason, no output left (lora: no partial checkpoint file).
  void check_full_disk(const Command& command, uint64_t limit, const std::string& file) {
    SCOPED_TRACE(command.name + " with a file size limit of " + std::to_string(limit));
    const std::string dir = *root_ + "/" + command.name + "_full";
    const std::string out = dir + "/out";
    fs::remove_all(dir);
    fs::create_directories(dir);
    test::LaminaProcess::Options options;
    options.file_size_limit = limit;
    test::LaminaProcess p(command.args(out, false), options);
    EXPECT_EQ(p.wait(), 1) << p.err();
    const std::string tag = "lamina: error: ";
    size_t at = p.err().find(tag);
    ASSERT_NE(at, std::string::npos) << p.err();
    EXPECT_EQ(p.err().find(tag, at + 1), std::string::npos) << "more than one error line:\n" << p.err();
    const std::string line = p.err().substr(at, p.err().find('\n', at) - at);
    EXPECT_EQ(line, tag + out + "/" + file + ": write failed after " + std::to_string(limit) +
                        " bytes: File too large");
    EXPECT_EQ(temporaries_beside(dir, "out"), 0);
    if (!command.directory_grows) {
      EXPECT_FALSE(fs::exists(out));
    } else if (fs::exists(out)) {
      for (const auto& name : sorted_names(out)) {
        EXPECT_TRUE(name == "adapter_config.json") << "a checkpoint file was left: " << name;
      }
    }
  }

  static std::string* root_;
};

std::string* CrashSafety::root_ = nullptr;

TEST_F(CrashSafety, ConvertKilledLeavesNothingPartial) { check_kills(convert(), 1); }
TEST_F(CrashSafety, QuantizeKilledLeavesNothingPartial) { check_kills(quantize(), 2); }
TEST_F(CrashSafety, FuseKilledLeavesNothingPartial) { check_kills(fuse(), 3); }
TEST_F(CrashSafety, LoraKilledLeavesOnlyWholeCheckpoints) { check_kills(lora(), 4); }

// The limits put the failure in the weights, in a copied tokenizer file and in a
// checkpoint's training state (written before its adapters).
TEST_F(CrashSafety, ConvertOnAFullDiskFailsCleanly) { check_full_disk(convert(), 1 << 20, "model.safetensors"); }
TEST_F(CrashSafety, QuantizeOnAFullDiskFailsCleanly) { check_full_disk(quantize(), 3 << 20, "tokenizer.json"); }
TEST_F(CrashSafety, FuseOnAFullDiskFailsCleanly) { check_full_disk(fuse(), 1 << 20, "model.safetensors"); }
TEST_F(CrashSafety, LoraOnAFullDiskFailsCleanly) {
  check_full_disk(lora(), 64 << 10, "0000002_training_state.zst");
}

}  // namespace
}  // namespace lamina
