// What an ONNX file says about itself without ONNX Runtime: the model's metadata_props and the
// graph's inputs and outputs, read from the protobuf (skipping the weights), so that a file is
// checked before any session (or TensorRT engine) is built for it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace yolact::detail {

struct TensorInfo {
    std::string name;
    std::vector<int64_t> shape;  // -1 where the dimension is symbolic or unknown
};

struct OnnxFile {
    std::map<std::string, std::string> metadata;
    std::vector<TensorInfo> inputs;  // graph inputs that are not initializers
    std::vector<TensorInfo> outputs;
};

// Throws yolact::Error naming `path` when it cannot be read or is not an ONNX model.
OnnxFile read_onnx_file(const std::string& path);

}  // namespace yolact::detail
