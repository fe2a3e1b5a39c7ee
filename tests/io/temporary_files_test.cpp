// Temporary output names and the clean-up of stale ones: a temporary whose writer lives
// (an open AtomicFile, an OutputDirectory being filled) is kept, one nobody holds is removed,
// and nothing else is touched.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "libcore/convert/output_dir.h"
#include "libcore/io/atomic_file.h"
#include "libcore/io/temporary_files.h"
#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;

TEST(TemporaryFiles, NamesAreRecognized) {
  const std::string name = io::temporary_name("model.safetensors");
  EXPECT_TRUE(io::is_temporary_name(name));
  EXPECT_TRUE(io::is_temporary_name(name, "model.safetensors"));
  EXPECT_FALSE(io::is_temporary_name(name, "model"));
  EXPECT_FALSE(io::is_temporary_name(name, "odel.safetensors"));
  EXPECT_NE(io::temporary_name("a"), io::temporary_name("a"));
  for (const char* other : {"model.safetensors", ".model.tmp-", ".model.tmp-12", ".model.tmp-12-", ".model.tmp-x-1",
                            "model.tmp-1-2", ".tmp-1-2", ".model.tmp-1-2.bak"}) {
    EXPECT_FALSE(io::is_temporary_name(other)) << other;
  }
}

TEST(TemporaryFiles, OnlyTemporariesNobodyHoldsAreRemoved) {
  const std::string dir = test::temp_dir("temporary_files");
  std::ofstream(dir + "/config.json") << "{}";
  std::ofstream(dir + "/.config.json.tmp-1-2") << "left by a killed run";
  fs::create_directories(dir + "/.model.tmp-3-4/inner");
  std::ofstream(dir + "/.notes.txt") << "not ours";
  io::AtomicFile writing(dir + "/adapters.safetensors");
  convert::OutputDirectory filling(dir + "/model", "", false);

  io::remove_stale_temporaries(dir, "other");
  EXPECT_TRUE(fs::exists(dir + "/.config.json.tmp-1-2")) << "only the named target's temporaries go";
  io::remove_stale_temporaries(dir);
  EXPECT_FALSE(fs::exists(dir + "/.config.json.tmp-1-2"));
  EXPECT_FALSE(fs::exists(dir + "/.model.tmp-3-4"));
  EXPECT_TRUE(fs::exists(dir + "/config.json"));
  EXPECT_TRUE(fs::exists(dir + "/.notes.txt"));
  EXPECT_TRUE(fs::exists(writing.temp_path())) << "a live writer's temporary was removed";
  EXPECT_TRUE(fs::exists(filling.path())) << "a live output directory was removed";

  writing.write("data");
  writing.commit();
  filling.commit();
  EXPECT_EQ(test::read_text_file(dir + "/adapters.safetensors"), "data");
  EXPECT_TRUE(fs::is_directory(dir + "/model"));
  fs::remove_all(dir);
}

TEST(TemporaryFiles, ForceSwapsAnExistingDirectoryInOneStep) {
  const std::string dir = test::temp_dir("temporary_files_force");
  fs::create_directories(dir + "/model");
  std::ofstream(dir + "/model/old.txt") << "old";
  {
    convert::OutputDirectory out(dir + "/model", "", true);
    io::write_file_atomically(out.path() + "/new.txt", "new");
    out.commit();
  }
  EXPECT_TRUE(fs::exists(dir + "/model/new.txt"));
  EXPECT_FALSE(fs::exists(dir + "/model/old.txt"));
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename(), "model") << e.path();
  fs::remove_all(dir);
}

TEST(TemporaryFiles, ErrorsNameTheTargetNotTheTemporary) {
  const std::string dir = test::temp_dir("temporary_files_errors");
  convert::OutputDirectory out(dir + "/model/", "", false);
  try {
    out.fill([](const std::string& path) { throw Error(path + "/config.json: write failed"); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/model/config.json: write failed");
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lamina
