// Sessions on a requested provider: ONNX Runtime session options, TensorRT -> CUDA -> CPU fallbacks.
#include "providers.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

#include "yolact/yolact.hpp"

namespace yolact::detail {

namespace {

// One line for the caller: what failed and what runs instead.
void fallback(const Say& say, const std::string& what, const std::string& to) {
    if (say) say(what + "; falling back to " + to);
}

std::vector<std::string> available_providers() {
    try {
        return Ort::GetAvailableProviders();
    } catch (const Ort::Exception&) {
        return {};
    }
}

bool has_provider(const char* name) {
    auto all = available_providers();
    return std::find(all.begin(), all.end(), name) != all.end();
}

// A provider's V2 options with device_id set, handed to `append`, released on every path.
template <typename Options, typename Create, typename Update, typename Release, typename Append>
void append_on_device(Create create, Update update, Release release, const std::string& device, Append append) {
    Options* raw = nullptr;
    Ort::ThrowOnError(create(&raw));
    std::unique_ptr<Options, Release> options(raw, release);
    const char* keys[] = {"device_id"};
    const char* values[] = {device.c_str()};
    Ort::ThrowOnError(update(options.get(), keys, values, 1));
    append(*options);
}

// Appends the requested provider (with fallbacks) and returns the name of the one appended.
std::string append_provider(Ort::SessionOptions& so, const std::string& request, const Say& say) {
    std::string name = request, device = "0";
    size_t colon = request.find(':');
    if (colon != std::string::npos) name = request.substr(0, colon), device = request.substr(colon + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (device.empty() || device.find_first_not_of("0123456789") != std::string::npos)
        throw Error("bad provider '" + request + "': the device must be a number (e.g. cuda:0)");
    if (name != "cpu" && name != "cuda" && name != "tensorrt" && name != "trt")
        throw Error("unknown provider '" + request + "' (use cpu, cuda[:N] or tensorrt[:N])");
    const OrtApi& api = Ort::GetApi();
    bool trt = false;
    if (name == "tensorrt" || name == "trt") {
        if (!has_provider("TensorrtExecutionProvider")) {
            fallback(say, "TensorRT is not in this ONNX Runtime build", "CUDA");
        } else {
            try {
                append_on_device<OrtTensorRTProviderOptionsV2>(
                    api.CreateTensorRTProviderOptions, api.UpdateTensorRTProviderOptions,
                    api.ReleaseTensorRTProviderOptions, device, [&](auto& o) { so.AppendExecutionProvider_TensorRT_V2(o); });
                trt = true;
            } catch (const Ort::Exception& e) {
                fallback(say, std::string("TensorRT provider failed (") + e.what() + ")", "CUDA");
            }
        }
        name = "cuda";  // CUDA runs what TensorRT does not take
    }
    if (name == "cuda") {
        if (!has_provider("CUDAExecutionProvider")) {
            fallback(say, "CUDA is not in this ONNX Runtime build", trt ? "TensorRT + CPU" : "CPU");
        } else {
            try {
                append_on_device<OrtCUDAProviderOptionsV2>(
                    api.CreateCUDAProviderOptions, api.UpdateCUDAProviderOptions, api.ReleaseCUDAProviderOptions,
                    device, [&](auto& o) { so.AppendExecutionProvider_CUDA_V2(o); });
                return trt ? "tensorrt" : "cuda";
            } catch (const Ort::Exception& e) {
                fallback(say, std::string("CUDA provider failed (") + e.what() + ")", trt ? "TensorRT + CPU" : "CPU");
            }
        }
    }
    return trt ? "tensorrt" : "cpu";
}

Ort::Env& ort_env() {
    static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "yolact");
    return env;
}

Ort::Session open_on(const std::string& path, int threads, const std::string& request, std::string& provider,
                     const Say& say, const Say& before) {
    Ort::SessionOptions so;
    if (threads > 0) so.SetIntraOpNumThreads(threads);
    so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    // Spin between a Run's ops, not after it, so the postprocess gets the cores (as in Python).
    so.AddConfigEntry("session.force_spinning_stop", "1");
    provider = append_provider(so, request, say);
    if (before) before(provider);
    return Ort::Session(ort_env(), path.c_str(), so);
}

}  // namespace

std::unique_ptr<Ort::Session> open_session(const std::string& path, int threads, const std::string& request,
                                           std::string& provider, const Say& say, const Say& before) {
    try {
        return std::make_unique<Ort::Session>(open_on(path, threads, request, provider, say, before));
    } catch (const Ort::Exception& e) {
        if (provider == "cpu") throw;
        fallback(say, "session on " + provider + " failed (" + e.what() + ")", "CPU");
        return std::make_unique<Ort::Session>(open_on(path, threads, "cpu", provider, say, before));
    }
}

}  // namespace yolact::detail
