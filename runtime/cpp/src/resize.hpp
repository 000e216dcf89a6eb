// Bilinear resampling (align_corners=False, no antialiasing) with the rounding of cv2.resize's
// float INTER_LINEAR in opencv-python (what the Python runtime calls): half-pixel taps, clamped
// borders, rows first, each step a + float32(b - a) * t summed in double and rounded to float32.
// Computed here rather than by cv::resize, whose float path depends on the OpenCV build.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

// Hot loops built twice, for AVX2 + FMA and for the baseline, picked at load time (same results:
// -ffp-contract=off, and explicit fused multiply-adds are exact either way).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define YOLACT_SIMD_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define YOLACT_SIMD_CLONES
#endif

namespace yolact::detail {

// Per output pixel of `large`: the first source tap of `small` and its weight t (a float32 value,
// held in double so that products with a float32 step are exact); clamped taps have t = 0.
struct Taps {
    std::vector<int> first;
    std::vector<double> weight;
};

Taps bilinear_taps(int small, int large);

// a + float32(b - a) * t in double: one rounding left, the caller's.
inline double lerp(float a, float b, double t) {
    return t == 0.0 ? a : static_cast<double>(a) + static_cast<double>(b - a) * t;
}

// CV_8UC3 -> float32 height x width x 3, bit for bit what cv2.resize gives on the image as float32.
cv::Mat resize_bgr(const cv::Mat& bgr, int height, int width);

}  // namespace yolact::detail
