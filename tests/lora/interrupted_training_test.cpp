// Interrupted `lamina lora` runs: Ctrl-C (SIGINT), SIGTERM or a closed stdout (SIGPIPE)
// saves a checkpoint and exits with status 130 / 143 / 141, kill -9 loses at most one
// --save-every interval, and resuming from what either left (--resume-adapter-file, with
// the training state beside it) reports the per-step losses of an uninterrupted run and
// ends with the same adapters.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "libcore/io/temporary_files.h"
#include "lora/training_state.h"
#include "tests/test_util.h"

namespace lamina::test {
namespace {

namespace fs = std::filesystem;

const int kIters = 12;
const int kSaveEvery = 3;

// Losses[i] is iteration first + i; expects the reference's within 1e-6 relative.
void expect_losses(const std::vector<double>& losses, const std::vector<double>& reference, int first) {
  ASSERT_LE(first - 1 + losses.size(), reference.size());
  for (size_t i = 0; i < losses.size(); ++i) {
    const double want = reference[first - 1 + i];
    EXPECT_NEAR(losses[i], want, 1e-6 * std::abs(want)) << "iteration " << first + i;
  }
}

// The highest iteration with a numbered adapter checkpoint in `dir` (0: none).
int latest_checkpoint(const std::string& dir) {
  int latest = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with("_adapters.safetensors")) latest = std::max(latest, std::stoi(name.substr(0, name.find('_'))));
  }
  return latest;
}

std::string checkpoint_file(const std::string& dir, int iteration) {
  char name[64];
  std::snprintf(name, sizeof(name), "%07d_adapters.safetensors", iteration);
  return dir + "/" + name;
}

class InterruptedTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(temp_dir("interrupted_training"));
    fs::create_directories(*root_ + "/data");
    for (const char* split : {"train", "valid"}) {
      std::ofstream f(*root_ + "/data/" + split + ".jsonl");
      for (int i = 0; i < 20; ++i) {
        f << "{\"text\": \"Entry " << i << ": a cat sat on mat number " << (i * 5) % 11 << ", then slept.\"}\n";
      }
    }
    // Shuffled batches, AdamW with bias correction, gradient accumulation (a save every 3
    // iterations falls mid-cycle), dropout and a cosine schedule with warmup: everything a
    // resume must restore.
    std::ofstream(*root_ + "/settings.yaml") << "lora_parameters:\n  rank: 4\n  scale: 10.0\n  dropout: 0.1\n";
    LaminaProcess full(args(*root_ + "/full"));
    ASSERT_EQ(full.wait(), 0) << full.err();
    reference_ = new std::vector<double>(test::json_line_values(full.out(), "train_loss"));
    ASSERT_EQ(reference_->size(), static_cast<size_t>(kIters));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
    delete reference_;
  }

  static std::vector<std::string> args(const std::string& adapters, const std::string& resume_from = "") {
    std::vector<std::string> a{"lora", "--model", testdata("models/tiny-llama"), "--train", "--data", *root_ + "/data",
                               "--adapter-path", adapters, "-c", *root_ + "/settings.yaml", "--num-layers", "1",
                               "--batch-size", "2", "--learning-rate", "1e-2", "--optimizer", "adamw",
                               "--bias-correction", "--lr-schedule", "cosine", "--warmup", "2",
                               "--grad-accumulation-steps", "2", "--iters", std::to_string(kIters), "--save-every",
                               std::to_string(kSaveEvery), "--seed", "7", "--steps-per-report", "1",
                               "--steps-per-eval", "1000", "--threads", "2", "--json"};
    if (!resume_from.empty()) {
      a.push_back("--resume-adapter-file");
      a.push_back(resume_from);
    }
    return a;
  }

  // Starts a run and returns once it has reported iteration `iteration`'s loss.
  static std::unique_ptr<LaminaProcess> start_until(const std::string& adapters, int iteration) {
    auto p = std::make_unique<LaminaProcess>(args(adapters));
    int seen = 0;
    for (std::string line; seen < iteration && p->read_line(line);) {
      if (nlohmann::json::parse(line).contains("train_loss")) ++seen;
    }
    EXPECT_EQ(seen, iteration) << "the run ended early:\n" << p->err();
    return p;
  }

  // Resumes from the checkpoint of `iteration` in `adapters` and checks the rest of the run
  // against the uninterrupted one.
  static void expect_exact_resume(const std::string& adapters, int iteration) {
    const std::string resumed = adapters + "_resumed";
    LaminaProcess p(args(resumed, checkpoint_file(adapters, iteration)));
    ASSERT_EQ(p.wait(), 0) << p.err();
    EXPECT_NE(p.err().find("Resuming at iteration " + std::to_string(iteration + 1)), std::string::npos) << p.err();
    auto losses = test::json_line_values(p.out(), "train_loss");
    EXPECT_EQ(losses.size(), static_cast<size_t>(kIters - iteration));
    expect_losses(losses, *reference_, iteration + 1);
    EXPECT_EQ(read_text_file(resumed + "/adapters.safetensors"), read_text_file(*root_ + "/full/adapters.safetensors"))
        << "the resumed run ends with other adapters";
  }

  static void expect_signal_saves_and_resumes(int signal, const std::string& name);

  static std::string* root_;
  static std::vector<double>* reference_;
};

std::string* InterruptedTraining::root_ = nullptr;
std::vector<double>* InterruptedTraining::reference_ = nullptr;

// Ctrl-C, or SIGTERM (what `timeout`, systemd and `docker stop` send), after the 4th report.
void InterruptedTraining::expect_signal_saves_and_resumes(int signal, const std::string& name) {
  const std::string adapters = *root_ + "/" + name;
  auto p = start_until(adapters, 4);  // not a save iteration, mid accumulation cycle soon
  p->send_signal(signal);
  ASSERT_EQ(p->wait(), 128 + signal) << p->err();
  // The step under way finishes, is reported and saved.
  auto losses = test::json_line_values(p->out(), "train_loss");
  const int stopped_at = static_cast<int>(losses.size());
  ASSERT_GE(stopped_at, 4);
  ASSERT_LT(stopped_at, kIters);
  expect_losses(losses, *reference_, 1);
  EXPECT_NE(p->err().find("Interrupted: checkpoint saved at iteration " + std::to_string(stopped_at)), std::string::npos)
      << p->err();
  EXPECT_EQ(latest_checkpoint(adapters), stopped_at);
  EXPECT_TRUE(fs::exists(lora::training_state_path(checkpoint_file(adapters, stopped_at))));
  for (const auto& e : fs::directory_iterator(adapters)) {
    EXPECT_FALSE(io::is_temporary_name(e.path().filename().string())) << e.path();
  }
  expect_exact_resume(adapters, stopped_at);
}

TEST_F(InterruptedTraining, SigintSavesACheckpointExits130AndResumesExactly) {
  expect_signal_saves_and_resumes(SIGINT, "sigint");
}

TEST_F(InterruptedTraining, SigtermSavesACheckpointExits143AndResumesExactly) {
  expect_signal_saves_and_resumes(SIGTERM, "sigterm");
}

// `lamina lora --json | head -n 4`: the reader goes away, the next report line raises
// SIGPIPE, and the run saves a checkpoint as for Ctrl-C and exits with 141.
TEST_F(InterruptedTraining, ClosedStdoutSavesACheckpointExits141AndResumesExactly) {
  const std::string adapters = *root_ + "/sigpipe";
  auto p = start_until(adapters, 4);
  p->close_stdout();
  ASSERT_EQ(p->wait(), 128 + SIGPIPE) << p->err();
  const int stopped_at = latest_checkpoint(adapters);
  ASSERT_GE(stopped_at, 5) << p->err();  // the write that failed reported iteration 5
  ASSERT_LT(stopped_at, kIters);
  EXPECT_NE(p->err().find("Interrupted: checkpoint saved at iteration " + std::to_string(stopped_at)), std::string::npos)
      << p->err();
  EXPECT_TRUE(fs::exists(lora::training_state_path(checkpoint_file(adapters, stopped_at))));
  expect_exact_resume(adapters, stopped_at);
}

TEST_F(InterruptedTraining, SigkillLosesAtMostOneSaveIntervalAndResumesExactly) {
  const std::string adapters = *root_ + "/sigkill";
  const int reported = 8;
  auto p = start_until(adapters, reported);
  p->send_signal(SIGKILL);
  ASSERT_EQ(p->wait(), 128 + SIGKILL);
  const int kept = latest_checkpoint(adapters);
  EXPECT_GE(kept, reported - kSaveEvery) << "more than one save interval lost";
  ASSERT_GT(kept, 0);
  expect_exact_resume(adapters, kept);
}

// adapters.safetensors and training_state.zst are two files: a kill between their writes
// leaves a state newer than the adapters, which a resume must refuse rather than continue
// from inconsistent weights and moments.
TEST_F(InterruptedTraining, ResumeRefusesAdaptersAndStateOfDifferentIterations) {
  const std::string adapters = *root_ + "/mismatch";
  fs::create_directories(adapters);
  fs::copy_file(checkpoint_file(*root_ + "/full", 3), adapters + "/adapters.safetensors");
  fs::copy_file(*root_ + "/full/0000006_training_state.zst", adapters + "/training_state.zst");
  LaminaProcess p(args(adapters + "_resumed", adapters + "/adapters.safetensors"));
  EXPECT_EQ(p.wait(), 1) << p.err();
  EXPECT_NE(p.err().find("lamina: error: " + adapters + "/training_state.zst: saved at iteration 6, but its adapter "
                         "file at iteration 3"),
            std::string::npos)
      << p.err();
}

}  // namespace
}  // namespace lamina::test
