// The model's yolact.* metadata (the README's ONNX output contract) -> ModelInfo, or a one-line Error.
#pragma once

#include <string>

#include <onnxruntime_cxx_api.h>

#include "yolact/yolact.hpp"

namespace yolact::detail {

ModelInfo read_metadata(Ort::Session& session, const std::string& path);

}  // namespace yolact::detail
