// ONNX Runtime sessions on a provider: cpu, cuda[:N], tensorrt[:N], each falling back with a message.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <onnxruntime_cxx_api.h>

namespace yolact::detail {

using Say = std::function<void(const std::string&)>;

// A session on the requested provider (cpu, cuda[:N], tensorrt[:N]), falling back (one line to `say`
// each time), and to CPU when the session fails to start there; `provider` gets the one that runs.
// `before` is called with the provider just before each session is built.
std::unique_ptr<Ort::Session> open_session(const std::string& path, int threads, const std::string& request,
                                           std::string& provider, const Say& say, const Say& before);

}  // namespace yolact::detail
