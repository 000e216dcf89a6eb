// Provider requests -> ONNX Runtime session options (TensorRT -> CUDA -> CPU fallbacks).
#include "providers.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <vector>

#include "yolact/yolact.hpp"

namespace yolact::detail {

namespace {

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

}  // namespace

void warn_fallback(const std::string& what, const std::string& to) {
    std::cerr << "yolact: " << what << "; falling back to " << to << std::endl;
}

std::string append_provider(Ort::SessionOptions& so, const std::string& request) {
    std::string name = request, device = "0";
    size_t colon = request.find(':');
    if (colon != std::string::npos) name = request.substr(0, colon), device = request.substr(colon + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (device.empty() || device.find_first_not_of("0123456789") != std::string::npos)
        throw Error("bad provider '" + request + "': the device must be a number (e.g. cuda:0)");
    if (name != "cpu" && name != "cuda" && name != "tensorrt" && name != "trt")
        throw Error("unknown provider '" + request + "' (use cpu, cuda[:N] or tensorrt[:N])");
    const OrtApi& api = Ort::GetApi();
    const char* keys[] = {"device_id"};
    const char* values[] = {device.c_str()};
    bool trt = false;
    if (name == "tensorrt" || name == "trt") {
        if (!has_provider("TensorrtExecutionProvider")) {
            warn_fallback("TensorRT is not in this ONNX Runtime build", "CUDA");
        } else {
            OrtTensorRTProviderOptionsV2* o = nullptr;
            try {
                Ort::ThrowOnError(api.CreateTensorRTProviderOptions(&o));
                Ort::ThrowOnError(api.UpdateTensorRTProviderOptions(o, keys, values, 1));
                so.AppendExecutionProvider_TensorRT_V2(*o);
                trt = true;
            } catch (const Ort::Exception& e) {
                warn_fallback(std::string("TensorRT provider failed (") + e.what() + ")", "CUDA");
            }
            if (o) api.ReleaseTensorRTProviderOptions(o);
        }
        name = "cuda";  // CUDA runs what TensorRT does not take
    }
    if (name == "cuda") {
        if (!has_provider("CUDAExecutionProvider")) {
            warn_fallback("CUDA is not in this ONNX Runtime build", trt ? "TensorRT + CPU" : "CPU");
        } else {
            OrtCUDAProviderOptionsV2* o = nullptr;
            try {
                Ort::ThrowOnError(api.CreateCUDAProviderOptions(&o));
                Ort::ThrowOnError(api.UpdateCUDAProviderOptions(o, keys, values, 1));
                so.AppendExecutionProvider_CUDA_V2(*o);
                api.ReleaseCUDAProviderOptions(o);
                return trt ? "tensorrt" : "cuda";
            } catch (const Ort::Exception& e) {
                if (o) api.ReleaseCUDAProviderOptions(o);
                warn_fallback(std::string("CUDA provider failed (") + e.what() + ")", trt ? "TensorRT + CPU" : "CPU");
            }
        }
    }
    return trt ? "tensorrt" : "cpu";
}

}  // namespace yolact::detail
