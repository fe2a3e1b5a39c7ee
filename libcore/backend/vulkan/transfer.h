// Transfers between host memory and a GPU's memory when an array crosses devices. An
// array's node is moved in place, so a weight used on the GPU is uploaded once and stays.
#pragma once

#include <vector>

#include "libcore/array/array.h"

namespace lamina::core::vulkan {

// True when a's elements live in a GPU's memory.
bool on_device(const Array& a);
// Moves a's elements into vulkan:device memory (no-op when already there). Every handle to
// a's node sees the move; shape and strides stay.
void move_to_device(const Array& a, int device);
// Moves a's elements back into host memory (the host reads a GPU array). After
// prefetch_to_host(a) this waits only for the work that produced a.
void move_to_host(const Array& a);
// Records a copy of a's elements into host memory behind the work queued so far, so that
// reading a later waits for that work only, not for what is queued after it.
void prefetch_to_host(const Array& a);
// An evaluated CPU array with a copy of a's elements and a's strides; `a` itself stays.
Array host_copy(const Array& a);
// Inputs as CPU kernels can read them: GPU arrays copied to the host, others as they are.
std::vector<Array> host_inputs(const std::vector<Array>& inputs);
// Submits queued GPU work on every device in use without waiting (called at eval's end).
void flush_all();
// Waits for all queued GPU work on every device in use.
void synchronize_all();

}  // namespace lamina::core::vulkan
