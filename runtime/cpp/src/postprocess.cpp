// As core/postprocess.py: the kept rows' soft masks at prototype resolution (sigmoid inside the
// padded crop only), then per mode: proto (> 0.5), image (window.cpp, painted on a zero frame),
// rle (rle.cpp, from the window), none. The logits are a fused multiply-add chain over k, in
// order: what numpy's matmul (OpenBLAS sgemm kernels) computes per element.
#include "postprocess.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>

#include "resize.hpp"
#include "rle.hpp"
#include "window.hpp"

namespace yolact::detail {

namespace {

// Relative, unordered, unclamped box -> ordered pixel box clamped to the image, truncated.
Box to_pixels(const float* b, int width, int height) {
    const float W = static_cast<float>(width), H = static_cast<float>(height);
    const float x1 = b[0] * W, y1 = b[1] * H, x2 = b[2] * W, y2 = b[3] * H;
    auto clamp = [](float v, float hi) { return std::min(std::max(v, 0.0f), hi); };
    Box box;
    box.x1 = static_cast<int>(clamp(std::min(x1, x2), W));
    box.x2 = static_cast<int>(clamp(std::max(x1, x2), W));
    box.y1 = static_cast<int>(clamp(std::min(y1, y2), H));
    box.y2 = static_cast<int>(clamp(std::max(y1, y2), H));
    return box;
}

// The integers c with start <= c < stop for the padded crop [start, stop) at `size` (float32, as
// core/postprocess.py crop_bounds / crop_ranges).
std::pair<int, int> crop_range(float lo, float hi, int size) {
    const float n = static_cast<float>(size), a = lo * n, b = hi * n;
    const float start = std::max(std::min(a, b) - 1.0f, 0.0f), stop = std::min(std::max(a, b) + 1.0f, n);
    return {static_cast<int>(std::ceil(start)), static_cast<int>(std::ceil(stop))};
}

// acc[j] = fma(c[p], plane_p[j], acc[j]) for p = 0..k-1, over `n` pixels of planar prototypes.
YOLACT_SIMD_CLONES
void fma_chain(const float* c, const float* planes, size_t plane_size, int k, size_t n, float* acc) {
    std::fill(acc, acc + n, 0.0f);
    for (int p = 0; p < k; ++p) {
        const float cp = c[p];
        const float* plane = planes + p * plane_size;
        for (size_t j = 0; j < n; ++j) acc[j] = __builtin_fmaf(cp, plane[j], acc[j]);
    }
}

// Prototypes h x w x k -> k planes of h x w, so that a crop row's logits are contiguous chains.
std::vector<float> planar(const RawImage& raw) {
    const size_t hw = static_cast<size_t>(raw.h) * raw.w;
    std::vector<float> planes(hw * raw.k);
    for (size_t i = 0; i < hw; ++i)
        for (int p = 0; p < raw.k; ++p) planes[p * hw + i] = raw.prototypes[i * raw.k + p];
    return planes;
}

void assemble(const RawImage& raw, const std::vector<float>& planes, int i, float* soft) {
    const size_t hw = static_cast<size_t>(raw.h) * raw.w;
    std::fill(soft, soft + hw, 0.0f);
    const float* box = raw.boxes + static_cast<size_t>(i) * 4;
    const auto [top, bottom] = crop_range(box[1], box[3], raw.h);
    const auto [left, right] = crop_range(box[0], box[2], raw.w);
    if (right <= left) return;
    const float* c = raw.coefficients + static_cast<size_t>(i) * raw.k;
    for (int r = top; r < bottom; ++r) {
        float* row = soft + static_cast<size_t>(r) * raw.w + left;
        fma_chain(c, planes.data() + static_cast<size_t>(r) * raw.w + left, hw, raw.k, right - left, row);
        for (int j = 0; j < right - left; ++j) row[j] = 1.0f / (1.0f + std::exp(-row[j]));
    }
}

// Memory from calloc: large blocks come as fresh zero pages, so the image-size masks of a frame cost
// the pages their windows touch, not a memset of every mask (92 MB for 100 masks at 1280x720).
class ZeroedAllocator : public cv::MatAllocator {
public:
    cv::UMatData* allocate(int dims, const int* sizes, int type, void* data, size_t* step, cv::AccessFlag,
                           cv::UMatUsageFlags) const override {
        size_t total = CV_ELEM_SIZE(type);
        for (int i = dims - 1; i >= 0; --i) {
            if (step) step[i] = total;
            total *= static_cast<size_t>(sizes[i]);
        }
        auto* bytes = static_cast<uchar*>(data ? data : std::calloc(total, 1));
        if (!bytes) throw std::bad_alloc();
        auto* u = new cv::UMatData(this);
        u->data = u->origdata = bytes;
        u->size = total;
        if (data) u->flags |= cv::UMatData::USER_ALLOCATED;
        return u;
    }
    bool allocate(cv::UMatData* u, cv::AccessFlag, cv::UMatUsageFlags) const override { return u != nullptr; }
    void deallocate(cv::UMatData* u) const override {
        if (!u) return;
        if (!(u->flags & cv::UMatData::USER_ALLOCATED)) std::free(u->origdata);
        delete u;
    }
};

// `count` zero masks of height x width, views of one zeroed block.
cv::Mat zero_planes(size_t count, int height, int width) {
    static ZeroedAllocator zeroed;
    cv::Mat planes;
    planes.allocator = &zeroed;
    planes.create(static_cast<int>(count) * height, width, CV_8U);
    return planes;
}

}  // namespace

std::vector<int> select_rows(const RawImage& raw, float threshold, int top_k) {
    std::vector<int> keep;
    for (int i = 0; i < raw.count; ++i)
        if (threshold <= 0.0f || raw.scores[i] > threshold) keep.push_back(i);
    const float* ranking = raw.mask_scores ? raw.mask_scores : raw.scores;  // v1: the model's order already
    std::stable_sort(keep.begin(), keep.end(), [&](int a, int b) { return ranking[a] > ranking[b]; });
    if (top_k >= 0 && keep.size() > static_cast<size_t>(top_k)) keep.resize(top_k);
    return keep;
}

std::vector<Detection> postprocess(const RawImage& raw, int height, int width, const ModelInfo& info,
                                   const Options& options) {
    const std::vector<int> keep = select_rows(raw, options.score_threshold, options.top_k);
    const bool masks = options.masks != Masks::none && !keep.empty() && (raw.masks || raw.prototypes);
    const size_t hw = static_cast<size_t>(raw.h) * raw.w;
    std::vector<float> planes, soft(masks ? hw : 0);
    if (masks && !raw.masks) planes = planar(raw);
    FrameTaps taps;
    if (masks && options.masks != Masks::proto) taps = frame_taps(raw.h, raw.w, height, width);
    const cv::Mat image_masks = masks && options.masks == Masks::image ? zero_planes(keep.size(), height, width) : cv::Mat();
    std::vector<Detection> dets(keep.size());
    for (size_t j = 0; j < keep.size(); ++j) {
        const int i = keep[j];
        Detection& d = dets[j];
        const int64_t cls = raw.classes[i];
        if (cls < 0 || cls >= static_cast<int64_t>(info.class_names.size()))
            throw Error(info.path + ": class index " + std::to_string(cls) + " out of range of yolact.class_names");
        d.class_id = static_cast<int>(cls);
        d.class_name = info.class_names[d.class_id];
        d.category_id = info.category_ids.empty() ? d.class_id + 1 : info.category_ids[d.class_id];
        d.score = raw.scores[i];
        d.mask_score = raw.mask_scores ? raw.mask_scores[i] : d.score;
        d.box = to_pixels(raw.boxes + static_cast<size_t>(i) * 4, width, height);
        if (!masks) continue;
        if (raw.masks) std::copy_n(raw.masks + static_cast<size_t>(i) * hw, hw, soft.data());
        else assemble(raw, planes, i, soft.data());
        if (options.masks == Masks::proto) {
            cv::compare(cv::Mat(raw.h, raw.w, CV_32F, soft.data()), 0.5, d.mask, cv::CMP_GT);
            continue;
        }
        const MaskWindow window = mask_window(soft.data(), raw.h, raw.w, taps);
        if (options.masks == Masks::rle) {
            d.rle = compress_counts(window_counts(window, height, width));
        } else {
            d.mask = image_masks.rowRange(static_cast<int>(j) * height, static_cast<int>(j + 1) * height);
            if (!window.pixels.empty())
                window.pixels.copyTo(d.mask(cv::Rect(window.left, window.top, window.pixels.cols, window.pixels.rows)));
        }
    }
    return dets;
}

}  // namespace yolact::detail
