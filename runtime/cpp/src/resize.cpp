// The bilinear arithmetic shared by preprocessing and the mask windows (window.cpp); compiled
// with -ffp-contract=off so that no multiply-add is fused where the Python side rounds twice.
#include "resize.hpp"

#include <algorithm>
#include <cmath>

namespace yolact::detail {

Taps bilinear_taps(int small, int large) {
    Taps t;
    t.first.resize(large);
    t.weight.resize(large);
    const double scale = 1.0 / (static_cast<double>(large) / small);
    for (int i = 0; i < large; ++i) {
        const double position = (i + 0.5) * scale - 0.5;
        const double first = std::floor(position);
        double weight = static_cast<float>(position - first);
        int tap = static_cast<int>(first);
        if (tap < 0 || tap >= small - 1) tap = std::clamp(tap, 0, small - 1), weight = 0.0;
        t.first[i] = tap;
        t.weight[i] = weight;
    }
    return t;
}

// cv2.resize's taps: where t rounds up to 1 (a position a hair below an integer, e.g. 720 -> 400),
// it reads the next pixel with t = 0, not a + float32(b - a) * 1 (core/masks/windows.py keeps the latter).
static Taps cv2_taps(int small, int large) {
    Taps t = bilinear_taps(small, large);
    for (size_t i = 0; i < t.first.size(); ++i)
        if (t.weight[i] == 1.0) t.first[i] = std::min(t.first[i] + 1, small - 1), t.weight[i] = 0.0;
    return t;
}

// One output row of the column pass: float32(a + float32(b - a) * t), t != 0.
YOLACT_SIMD_CLONES
static void blend_row(const float* a, const float* b, double t, size_t n, float* dst) {
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<double>(a[i]) + static_cast<double>(b[i] - a[i]) * t);
}

cv::Mat resize_bgr(const cv::Mat& bgr, int height, int width) {
    CV_Assert(bgr.type() == CV_8UC3);
    const Taps ty = cv2_taps(bgr.rows, height), tx = cv2_taps(bgr.cols, width);
    const size_t n = static_cast<size_t>(width) * 3;
    std::vector<float> across(static_cast<size_t>(bgr.rows) * n);
    std::vector<char> needed(bgr.rows, 0);
    for (int y = 0; y < height; ++y) needed[ty.first[y]] = 1, needed[std::min(ty.first[y] + 1, bgr.rows - 1)] = 1;
    for (int r = 0; r < bgr.rows; ++r) {  // rows first, from the 8-bit pixels (exact in float)
        if (!needed[r]) continue;
        const unsigned char* src = bgr.ptr<unsigned char>(r);
        float* dst = across.data() + static_cast<size_t>(r) * n;
        for (int x = 0; x < width; ++x) {
            const unsigned char* a = src + static_cast<size_t>(tx.first[x]) * 3;
            const unsigned char* b = tx.weight[x] == 0.0 ? a : a + 3;
            for (int c = 0; c < 3; ++c) dst[x * 3 + c] = static_cast<float>(lerp(a[c], b[c], tx.weight[x]));
        }
    }
    cv::Mat out(height, width, CV_32FC3);
    for (int y = 0; y < height; ++y) {
        const double t = ty.weight[y];
        const float* a = across.data() + static_cast<size_t>(ty.first[y]) * n;
        if (t == 0.0) std::copy_n(a, n, out.ptr<float>(y));
        else blend_row(a, a + n, t, n, out.ptr<float>(y));
    }
    return out;
}

}  // namespace yolact::detail
