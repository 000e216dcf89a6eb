// ONNX Runtime sessions on a provider: cpu, cuda[:N], tensorrt[:N], each falling back with a warning.
#pragma once

#include <memory>
#include <string>

#include <onnxruntime_cxx_api.h>

namespace yolact::detail {

// A session on the requested provider (cpu, cuda[:N], tensorrt[:N]), falling back with a warning,
// and to CPU when the session fails to start there; `provider` gets the one that runs.
std::unique_ptr<Ort::Session> open_session(const std::string& path, int threads, const std::string& request,
                                           std::string& provider);

}  // namespace yolact::detail
