// The model's yolact.* metadata (the README's ONNX output contract) -> ModelInfo, or a one-line Error.
#pragma once

#include <map>
#include <string>

#include "yolact/yolact.hpp"

namespace yolact::detail {

ModelInfo read_metadata(const std::map<std::string, std::string>& props, const std::string& path);

}  // namespace yolact::detail
