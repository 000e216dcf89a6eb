// Execution providers for a session: cpu, cuda[:N], tensorrt[:N], each falling back with a warning.
#pragma once

#include <string>

#include <onnxruntime_cxx_api.h>

namespace yolact::detail {

// Appends the requested provider (with fallbacks) and returns the name of the one appended.
std::string append_provider(Ort::SessionOptions& so, const std::string& request);

// One line on stderr: what failed and what runs instead.
void warn_fallback(const std::string& what, const std::string& to);

}  // namespace yolact::detail
