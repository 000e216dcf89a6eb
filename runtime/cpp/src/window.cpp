// The window path of yolact_runtime's core/masks/windows.py, in C++: taps as cv2 computes them, rows first
// (along x) then columns, each step a + float32(b - a) * t summed in double (the product of two
// float32 is exact there) and rounded once, the row pass to float32; the column pass is compared
// with 0.5 + 2^-25 unrounded (float32(x) > 0.5 exactly when x > 0.5 + 2^-25). Built with
// -ffp-contract=off, so the compiler fuses nothing the Python side does not.
#include "window.hpp"

#include <algorithm>
#include <cmath>

namespace yolact::detail {

namespace {

constexpr double kAboveHalf = 0.5 + 0x1p-25;
// A bilinear output is a convex mix of its taps: it can pass 0.5 only near a tap that (almost) does.
const float kHot = static_cast<float>(0.5 - 1e-4);

// First and one-past-last index in [0, n) where `hot(i)` holds; 0, 0 when none.
template <typename Hot>
std::pair<int, int> extent(int n, Hot hot) {
    int first = 0;
    while (first < n && !hot(first)) ++first;
    if (first == n) return {0, 0};
    int last = n;
    while (!hot(last - 1)) --last;
    return {first, last};
}

// Output pixels whose taps read a source pixel in [first, last) (core/masks/windows.py `_spans`).
std::pair<int, int> span(const Taps& t, int first, int last) {
    int lo = 0;  // first output whose highest tap >= first
    while (lo < static_cast<int>(t.first.size()) && t.first[lo] + (t.weight[lo] > 0.0) < first) ++lo;
    auto hi = std::lower_bound(t.first.begin(), t.first.end(), last);
    return {lo, static_cast<int>(hi - t.first.begin())};
}

// One output row: a + float32(b - a) * t > 0.5 + 2^-25, as 255 / 0 (t == 0: the row a itself).
YOLACT_SIMD_CLONES
void threshold_row(const float* a, const float* b, double t, int n, unsigned char* dst) {
    if (t == 0.0) {
        for (int j = 0; j < n; ++j) dst[j] = static_cast<double>(a[j]) > kAboveHalf ? 255 : 0;
        return;
    }
    for (int j = 0; j < n; ++j) dst[j] = static_cast<double>(a[j]) + static_cast<double>(b[j] - a[j]) * t > kAboveHalf ? 255 : 0;
}

}  // namespace

FrameTaps frame_taps(int mask_rows, int mask_cols, int height, int width) {
    return {height, width, bilinear_taps(mask_rows, height), bilinear_taps(mask_cols, width)};
}

MaskWindow mask_window(const float* soft, int h, int w, const FrameTaps& taps) {
    const auto [row_first, row_last] = extent(h, [&](int r) {
        const float* row = soft + static_cast<size_t>(r) * w;
        return std::any_of(row, row + w, [](float v) { return v > kHot; });
    });
    const auto [col_first, col_last] = extent(w, [&](int c) {
        for (int r = row_first; r < row_last; ++r)
            if (soft[static_cast<size_t>(r) * w + c] > kHot) return true;
        return false;
    });
    const auto [top, bottom] = span(taps.rows, row_first, row_last);
    const auto [left, right] = span(taps.cols, col_first, col_last);
    MaskWindow out;
    if (bottom <= top || right <= left) return out;
    out.top = top, out.left = left;
    const int r0 = taps.rows.first[top], r1 = std::min(taps.rows.first[bottom - 1] + 2, h);
    const int cols = right - left;
    const int* xs = taps.cols.first.data() + left;
    const double* tx = taps.cols.weight.data() + left;
    cv::Mat across(r1 - r0, cols, CV_32F);  // rows first: source rows x output columns
    for (int r = r0; r < r1; ++r) {
        const float* src = soft + static_cast<size_t>(r) * w;
        float* dst = across.ptr<float>(r - r0);
        for (int j = 0; j < cols; ++j) {
            const int x = xs[j];
            dst[j] = static_cast<float>(lerp(src[x], tx[j] == 0.0 ? src[x] : src[x + 1], tx[j]));
        }
    }
    out.pixels.create(bottom - top, cols, CV_8U);
    for (int i = top; i < bottom; ++i) {
        const double t = taps.rows.weight[i];
        const float* a = across.ptr<float>(taps.rows.first[i] - r0);
        const float* b = t == 0.0 ? a : a + cols;
        threshold_row(a, b, t, cols, out.pixels.ptr<unsigned char>(i - top));
    }
    return out;
}

}  // namespace yolact::detail
