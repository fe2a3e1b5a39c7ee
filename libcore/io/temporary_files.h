// The temporary names outputs are written under before being renamed into place
// (".<name>.tmp-<pid>-<n>" beside the target), the lock that marks one as in use, and the
// clean-up of those a killed process left behind.
#pragma once

#include <string>

namespace lamina::io {

// A fresh temporary name (a file name, not a path) for the file or directory `final_name`.
std::string temporary_name(const std::string& final_name);
// True when the file name `entry` is one temporary_name(final_name) gives; any final name
// when `final_name` is empty.
bool is_temporary_name(const std::string& entry, const std::string& final_name = "");
// Marks the temporary open at `fd` as in use until `fd` is closed (an flock, which the kernel
// drops when its process dies). Best effort: a file system without locks leaves it unmarked.
void mark_in_use(int fd);
// Removes the temporaries in `dir` (of `final_name` only, unless it is empty) that no living
// process marks as in use: what kill -9, a crash or a power cut left. Best effort, silent.
void remove_stale_temporaries(const std::string& dir, const std::string& final_name = "");

}  // namespace lamina::io
