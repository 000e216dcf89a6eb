// One image's padded detections -> Detections in image pixels, as yolact_runtime's
// core/postprocess.py: select rows, assemble and crop the soft masks, then per Options::masks.
#pragma once

#include <vector>

#include "outputs.hpp"
#include "yolact/yolact.hpp"

namespace yolact::detail {

// Rows to keep, in output order (box score > threshold, ranked by mask score for YOLACT++, top_k).
std::vector<int> select_rows(const RawImage& raw, float threshold, int top_k);

std::vector<Detection> postprocess(const RawImage& raw, int height, int width, const ModelInfo& info,
                                   const Options& options);

}  // namespace yolact::detail
