// Atomic output directories.
#include "libcore/convert/output_dir.h"

#include <unistd.h>

#include <filesystem>
#include <random>

#include "libcore/error.h"

namespace lamina::convert {

namespace fs = std::filesystem;

namespace {
std::string random_suffix() {
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
}

bool is_within(const fs::path& child, const fs::path& parent) {
  auto c = child.begin();
  for (auto p = parent.begin(); p != parent.end(); ++p, ++c) {
    if (c == child.end() || *p != *c) return false;
  }
  return true;
}
}  // namespace

OutputDirectory::OutputDirectory(const std::string& target, const std::string& input_dir, bool force)
    : target_(target), force_(force) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(fs::absolute(target), ec);
  fs::path in = fs::weakly_canonical(fs::absolute(input_dir), ec);
  if (!input_dir.empty() && (is_within(out, in) || is_within(in, out))) {
    throw Error(target + ": the output directory must not be the input directory or inside it");
  }
  if (fs::exists(out) && !force) {
    throw Error(target + ": already exists (use --force to replace it)");
  }
  fs::path parent = out.parent_path();
  if (!fs::is_directory(parent)) {
    throw Error(target + ": parent directory " + parent.string() + " does not exist");
  }
  temp_ = (parent / ("." + out.filename().string() + ".tmp-" + random_suffix())).string();
  if (!fs::create_directory(temp_, ec) || ec) {
    throw Error(target + ": cannot create a directory in " + parent.string() + " (" + ec.message() + ")");
  }
  target_ = out.string();
}

OutputDirectory::~OutputDirectory() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
}

void OutputDirectory::commit() {
  std::error_code ec;
  if (fs::exists(target_)) {
    if (!force_) throw Error(target_ + ": appeared while writing; not replaced");
    std::string old = target_ + ".old-" + random_suffix();
    fs::rename(target_, old, ec);
    if (ec) throw Error(target_ + ": cannot replace it (" + ec.message() + ")");
    fs::rename(temp_, target_, ec);
    if (ec) {
      fs::rename(old, target_);
      throw Error(target_ + ": cannot move the new directory into place (" + ec.message() + ")");
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(temp_, target_, ec);
    if (ec) throw Error(target_ + ": cannot move the new directory into place (" + ec.message() + ")");
  }
  committed_ = true;
}

}  // namespace lamina::convert
