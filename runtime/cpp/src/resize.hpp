// Exact bilinear resize (align_corners=False, no antialiasing), shared by preprocessing and masks.
#pragma once

#include <opencv2/core.hpp>

namespace yolact {

// float32 rows x cols x C (C = 1 or 3) -> height x width x C.
cv::Mat bilinear_resize(const cv::Mat& src, int height, int width);

}  // namespace yolact
