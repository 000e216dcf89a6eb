// COCO RLE from windows: a mask zero outside its window has one zero run between the window's
// columns, so walking the window's columns gives the whole frame's runs.
#include "rle.hpp"

#include "yolact/yolact.hpp"

namespace yolact::detail {

std::vector<uint32_t> window_counts(const MaskWindow& window, int height, int width) {
    std::vector<uint32_t> counts;
    const uint64_t total = static_cast<uint64_t>(height) * width;
    uint64_t run_start = 0;
    unsigned char value = 0;  // runs alternate, zeros first
    auto change = [&](uint64_t at, unsigned char v) {
        counts.push_back(static_cast<uint32_t>(at - run_start));
        run_start = at, value = v;
    };
    const int rows = window.pixels.rows;
    for (int c = 0; c < window.pixels.cols; ++c) {
        const uint64_t base = static_cast<uint64_t>(window.left + c) * height;  // the column's first pixel
        if (value && window.top > 0) change(base, 0);  // zeros above the window
        for (int r = 0; r < rows; ++r) {
            const unsigned char v = window.pixels.at<unsigned char>(r, c) != 0;
            if (v != value) change(base + window.top + r, v);
        }
        if (value && window.top + rows < height) change(base + window.top + rows, 0);  // and below it
    }
    counts.push_back(static_cast<uint32_t>(total - run_start));
    return counts;
}

std::string compress_counts(const std::vector<uint32_t>& counts) {
    std::string s;
    for (size_t i = 0; i < counts.size(); ++i) {  // pycocotools maskApi.c rleToString
        long long x = counts[i];
        if (i > 2) x -= static_cast<long long>(counts[i - 2]);
        bool more = true;
        while (more) {
            char c = static_cast<char>(x & 0x1f);
            x >>= 5;
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            s += static_cast<char>(c + 48);
        }
    }
    return s;
}

}  // namespace yolact::detail

namespace yolact {

std::string rle_encode(const cv::Mat& mask) {
    if (mask.empty() || mask.type() != CV_8UC1) throw Error("rle_encode: expected a non-empty CV_8UC1 mask");
    detail::MaskWindow whole{0, 0, mask};
    return detail::compress_counts(detail::window_counts(whole, mask.rows, mask.cols));
}

}  // namespace yolact
