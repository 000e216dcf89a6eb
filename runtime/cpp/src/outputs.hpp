// One engine call's outputs (the ONNX contract's tensors, batch first), checked against the
// contract's shapes and viewed image by image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <onnxruntime_cxx_api.h>

#include "yolact/yolact.hpp"

namespace yolact::detail {

// One image's rows: D padded detections, the first `count` valid. Pointers into the batch's tensors.
struct RawImage {
    int64_t count = 0, D = 0;
    const float* boxes = nullptr;        // D x 4, relative x1 y1 x2 y2
    const float* scores = nullptr;       // D
    const float* mask_scores = nullptr;  // D, or null (not YOLACT++)
    const int64_t* classes = nullptr;    // D
    const float* masks = nullptr;        // D x h x w (in-graph masks), or null
    const float* coefficients = nullptr; // D x k
    const float* prototypes = nullptr;   // h x w x k
    int h = 0, w = 0, k = 0;
};

class Outputs {
public:
    // values are the outputs named `names` (the order Model asks for them), for `batch` images.
    Outputs(std::vector<Ort::Value> values, const std::vector<std::string>& names, int64_t batch,
            const std::string& path);
    RawImage image(int64_t b) const;

private:
    std::vector<Ort::Value> values_;
    RawImage first_;  // image 0; image b is offset by b times the per-image sizes
    std::vector<int64_t> classes_, num_;
};

}  // namespace yolact::detail
