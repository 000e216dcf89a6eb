// Sessions on a requested provider: auto (TensorRT -> CUDA -> CPU, one line), or exactly the one asked.
#include "providers.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

#include "yolact/yolact.hpp"

namespace yolact::detail {

namespace {

const char* const kTensorrt = "TensorrtExecutionProvider";
const char* const kCuda = "CUDAExecutionProvider";
const char* const kOpenvino = "OpenVINOExecutionProvider";
const char* const kCpu = "CPUExecutionProvider";

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

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
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

void append_one(Ort::SessionOptions& so, const std::string& name, const std::string& device) {
    const OrtApi& api = Ort::GetApi();
    if (name == "tensorrt")
        append_on_device<OrtTensorRTProviderOptionsV2>(
            api.CreateTensorRTProviderOptions, api.UpdateTensorRTProviderOptions, api.ReleaseTensorRTProviderOptions,
            device, [&](auto& o) { so.AppendExecutionProvider_TensorRT_V2(o); });
    else if (name == "cuda")
        append_on_device<OrtCUDAProviderOptionsV2>(
            api.CreateCUDAProviderOptions, api.UpdateCUDAProviderOptions, api.ReleaseCUDAProviderOptions, device,
            [&](auto& o) { so.AppendExecutionProvider_CUDA_V2(o); });
    else if (name == "openvino")
        so.AppendExecutionProvider("OpenVINO", {});
}

const char* ort_name(const std::string& name) {
    return name == "tensorrt" ? kTensorrt : name == "cuda" ? kCuda : name == "openvino" ? kOpenvino : kCpu;
}

// An explicit choice: that provider (TensorRT with CUDA behind it where present, as in Python), or Error.
std::string append_explicit(Ort::SessionOptions& so, const std::string& name, const std::string& device) {
    if (name == "cpu") return "cpu";
    if (!has_provider(ort_name(name))) {
        std::string why = "providers " + name + ": " + ort_name(name) + " is not available in this ONNX Runtime build (available: " +
                          joined(available_providers()) + ")";
        if (name == "openvino") why += "; yolact-run --providers openvino runs the OpenVINO runtime from Python";
        throw Error(why);
    }
    try {
        append_one(so, name, device);
        if (name == "tensorrt" && has_provider(kCuda)) append_one(so, "cuda", device);  // what TensorRT does not take
    } catch (const Ort::Exception& e) {
        throw Error("providers " + name + ": " + ort_name(name) + " failed to start (" + e.what() + ")");
    }
    return name;
}

// auto: TensorRT, then CUDA, then CPU; one line to `say` naming the one taken and what was passed over.
std::string append_auto(Ort::SessionOptions& so, const std::string& device, const Say& say) {
    std::vector<std::string> passed;
    for (const char* name : {"tensorrt", "cuda"}) {
        if (!has_provider(ort_name(name))) {
            passed.push_back(std::string(ort_name(name)) + ": not available in this ONNX Runtime build");
            continue;
        }
        try {
            append_explicit(so, name, device);
        } catch (const Error& e) {
            passed.push_back(e.what());
            continue;
        }
        if (say) say("providers auto: " + std::string(ort_name(name)) + (passed.empty() ? "" : " (" + joined(passed) + ")"));
        return name;
    }
    if (say) say("providers auto: " + std::string(kCpu) + " (" + joined(passed) + ")");
    return "cpu";
}

// Appends the requested provider and returns its short name (the Python runtime's choices, core/plan.py).
std::string append_provider(Ort::SessionOptions& so, const std::string& request, const Say& say) {
    std::string name = request, device = "0";
    size_t colon = request.find(':');
    if (colon != std::string::npos) name = request.substr(0, colon), device = request.substr(colon + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "trt") name = "tensorrt";
    if (name != "auto" && name != "tensorrt" && name != "cuda" && name != "openvino" && name != "cpu")
        throw Error("unknown providers '" + request + "' (expected one of " + kProviderChoices + ")");
    if (device.empty() || device.find_first_not_of("0123456789") != std::string::npos ||
        (colon != std::string::npos && name != "tensorrt" && name != "cuda" && name != "auto"))
        throw Error("bad providers '" + request + "': only cuda, tensorrt and auto take a device number (e.g. cuda:1)");
    return name == "auto" ? append_auto(so, device, say) : append_explicit(so, name, device);
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
    const bool automatic = request.rfind("auto", 0) == 0;
    try {
        return std::make_unique<Ort::Session>(open_on(path, threads, request, provider, say, before));
    } catch (const Ort::Exception& e) {
        if (provider == "cpu") throw;
        if (!automatic) throw Error("providers " + provider + ": the session failed to start (" + e.what() + ")");
        if (say) say("providers auto: the session on " + provider + " failed (" + e.what() + "); falling back to CPU");
        return std::make_unique<Ort::Session>(open_on(path, threads, "cpu", provider, say, before));
    }
}

}  // namespace yolact::detail
