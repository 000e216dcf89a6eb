// Bilinear resize, align_corners=False, no antialiasing: the contract's formula, computed here rather
// than by cv::resize, whose float INTER_LINEAR depends on the OpenCV build (Debian's 4.6 is off the
// exact value by up to 0.004 grey levels at 640 -> 400; opencv-python 4.14, which the Python runtime
// uses, by float rounding only). Source coordinates in double, weights and blending in float.
#include "resize.hpp"

#include <algorithm>
#include <vector>

namespace yolact {

struct Taps {
    std::vector<int> lo, hi;
    std::vector<float> w;  // weight of hi
};

static Taps bilinear_taps(int n_out, int n_in) {
    Taps t;
    t.lo.resize(n_out), t.hi.resize(n_out), t.w.resize(n_out);
    const double scale = static_cast<double>(n_in) / n_out;
    for (int o = 0; o < n_out; ++o) {
        const double src = std::max((o + 0.5) * scale - 0.5, 0.0);
        const int lo = std::min(static_cast<int>(src), n_in - 1);
        t.lo[o] = lo;
        t.hi[o] = std::min(lo + 1, n_in - 1);
        t.w[o] = static_cast<float>(src - lo);
    }
    return t;
}

cv::Mat bilinear_resize(const cv::Mat& src, int height, int width) {
    CV_Assert(src.depth() == CV_32F && src.isContinuous());
    const int C = src.channels();
    const Taps ty = bilinear_taps(height, src.rows), tx = bilinear_taps(width, src.cols);
    cv::Mat dst(height, width, CV_MAKETYPE(CV_32F, C));
    std::vector<float> top(static_cast<size_t>(width) * C), bottom(top.size());
    auto horizontal = [&](const float* row, std::vector<float>& out) {
        for (int x = 0; x < width; ++x) {
            const float w = tx.w[x];
            const float* a = row + static_cast<size_t>(tx.lo[x]) * C;
            const float* b = row + static_cast<size_t>(tx.hi[x]) * C;
            for (int c = 0; c < C; ++c) out[static_cast<size_t>(x) * C + c] = a[c] * (1.0f - w) + b[c] * w;
        }
    };
    int top_row = -1, bottom_row = -1;
    for (int y = 0; y < height; ++y) {
        if (ty.lo[y] != top_row) {
            if (ty.lo[y] == bottom_row) top.swap(bottom), bottom_row = -1;
            else horizontal(src.ptr<float>(ty.lo[y]), top);
            top_row = ty.lo[y];
        }
        if (ty.hi[y] != bottom_row) horizontal(src.ptr<float>(ty.hi[y]), bottom), bottom_row = ty.hi[y];
        const float w = ty.w[y];
        float* out = dst.ptr<float>(y);
        for (size_t i = 0; i < top.size(); ++i) out[i] = top[i] * (1.0f - w) + bottom[i] * w;
    }
    return dst;
}

}  // namespace yolact
