// ONNX Runtime sessions on a provider: the Python runtime's choices (core/plan.py PROVIDER_CHOICES).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <onnxruntime_cxx_api.h>

namespace yolact::detail {

using Say = std::function<void(const std::string&)>;

inline const char* const kProviderChoices = "auto, tensorrt, cuda, openvino, cpu";

// A session on the requested provider (auto, tensorrt[:N], cuda[:N], openvino, cpu). auto takes
// TensorRT, then CUDA, then CPU, saying which in one line to `say` (and falls back to CPU when the
// session fails to start); an explicit provider this build lacks, or that fails, throws Error.
// `provider` gets the one that runs.
// `before` is called with the provider just before each session is built.
std::unique_ptr<Ort::Session> open_session(const std::string& path, int threads, const std::string& request,
                                           std::string& provider, const Say& say, const Say& before);

}  // namespace yolact::detail
