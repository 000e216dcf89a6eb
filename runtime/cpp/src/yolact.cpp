// YOLACT runtime over the ONNX Runtime C++ API: metadata -> preprocess -> session -> masks.
// The contract (output names, shapes, pre/postprocessing) is the README's "ONNX output
// contract (version 1)"; this file follows it to the letter.
#include "yolact/yolact.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include <onnxruntime_cxx_api.h>
#include <opencv2/imgproc.hpp>

#include "contract.hpp"
#include "metadata.hpp"
#include "providers.hpp"
#include "resize.hpp"

namespace yolact {
namespace {

using namespace contract;
using detail::open_session;
using detail::read_metadata;

// ------------------------------------------------------------------------- outputs

struct Output {
    std::vector<int64_t> shape;
    const float* f = nullptr;
    std::vector<int64_t> ints;  // int64 or int32 outputs, widened
};

Output read_output(const Ort::Value& v, const char* name) {
    Output o;
    auto ti = v.GetTensorTypeAndShapeInfo();
    o.shape = ti.GetShape();
    size_t n = ti.GetElementCount();
    switch (ti.GetElementType()) {
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: o.f = v.GetTensorData<float>(); break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: {
            const int64_t* p = v.GetTensorData<int64_t>();
            o.ints.assign(p, p + n);
            break;
        }
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: {
            const int32_t* p = v.GetTensorData<int32_t>();
            o.ints.assign(p, p + n);
            break;
        }
        default: throw Error(std::string("output '") + name + "' has an unexpected element type");
    }
    return o;
}

void check_shape(const Output& o, const char* name, std::vector<int64_t> want) {
    bool ok = o.shape.size() == want.size();
    for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || o.shape[i] == want[i];
    if (!ok) throw Error(std::string("output '") + name + "' does not have the contract's shape");
}

// Zero the soft mask outside the box taken at mask resolution, padded by one pixel (float compares).
void crop(cv::Mat& m, const float* box) {
    const float w = static_cast<float>(m.cols), h = static_cast<float>(m.rows);
    const float x1 = std::max(std::min(box[0], box[2]) * w - 1.0f, 0.0f);
    const float x2 = std::min(std::max(box[0], box[2]) * w + 1.0f, w);
    const float y1 = std::max(std::min(box[1], box[3]) * h - 1.0f, 0.0f);
    const float y2 = std::min(std::max(box[1], box[3]) * h + 1.0f, h);
    for (int r = 0; r < m.rows; ++r) {
        float* row = m.ptr<float>(r);
        const bool row_in = static_cast<float>(r) >= y1 && static_cast<float>(r) < y2;
        for (int c = 0; c < m.cols; ++c)
            if (!row_in || !(static_cast<float>(c) >= x1 && static_cast<float>(c) < x2)) row[c] = 0.0f;
    }
}

// Relative, unordered, unclamped box -> ordered pixel box clamped to the image, truncated.
Box to_pixels(const float* b, int width, int height) {
    const float W = static_cast<float>(width), H = static_cast<float>(height);
    float x1 = b[0] * W, y1 = b[1] * H, x2 = b[2] * W, y2 = b[3] * H;
    auto clamp = [](float v, float hi) { return std::min(std::max(v, 0.0f), hi); };
    Box box;
    box.x1 = static_cast<int>(clamp(std::min(x1, x2), W));
    box.x2 = static_cast<int>(clamp(std::max(x1, x2), W));
    box.y1 = static_cast<int>(clamp(std::min(y1, y2), H));
    box.y2 = static_cast<int>(clamp(std::max(y1, y2), H));
    return box;
}

// Rows to keep, in output order, as the original's eval path (and yolact_runtime's select_rows):
// layers/output_utils.py postprocess keeps box score > threshold (no filter at 0), before any
// re-scoring; eval.py prep_display ranks by the re-scored score (YOLACT++: mask score), stable.
std::vector<int> select_rows(const float* scores, const float* mask_scores, int64_t n, float threshold) {
    std::vector<int> keep;
    for (int i = 0; i < n; ++i)
        if (threshold <= 0.0f || scores[i] > threshold) keep.push_back(i);
    if (mask_scores)
        std::stable_sort(keep.begin(), keep.end(), [&](int a, int b) { return mask_scores[a] > mask_scores[b]; });
    return keep;
}

}  // namespace

// ------------------------------------------------------------------------- Model

struct Model::Impl {
    std::string path;
    Options options;
    std::string provider;
    std::unique_ptr<Ort::Session> session;
    ModelInfo info;
    std::string input_name;
    std::vector<std::string> output_names;
};

Model::Model(const std::string& onnx_path, const Options& options) : impl_(new Impl) {
    Impl& m = *impl_;
    m.path = onnx_path;
    m.options = options;
    if (!std::ifstream(onnx_path, std::ios::binary).good())
        throw Error("model file not found or unreadable: " + onnx_path);
    try {
        m.session = open_session(onnx_path, options.threads, options.provider, m.provider);
    } catch (const Ort::Exception& e) {
        throw Error("ONNX Runtime cannot load " + onnx_path + ": " + e.what());
    }
    Ort::Session& s = *m.session;
    try {
        m.info = read_metadata(s, onnx_path);
        Ort::AllocatorWithDefaultOptions alloc;
        if (s.GetInputCount() != 1) throw Error(onnx_path + ": expected one input (images)");
        m.input_name = s.GetInputNameAllocated(0, alloc).get();
        std::vector<int64_t> in = s.GetInputTypeInfo(0).GetTensorTypeAndShapeInfo().GetShape();
        const int64_t S = m.info.input_size;
        if (in.size() != 4 || (in[1] > 0 && in[1] != 3) || (in[2] > 0 && in[2] != S) || (in[3] > 0 && in[3] != S) ||
            in[0] > 1)
            throw Error(onnx_path + ": input '" + m.input_name + "' is not [B, 3, " + std::to_string(S) + ", " +
                        std::to_string(S) + "] with B dynamic or 1");
        std::map<std::string, bool> have;
        for (size_t i = 0; i < s.GetOutputCount(); ++i) have[s.GetOutputNameAllocated(i, alloc).get()] = true;
        m.info.has_masks = have.count(kMasks) > 0;
        m.info.has_mask_scores = have.count(kMaskScores) > 0;
        std::vector<std::string> need = {kBoxes, kScores, kClasses, kNumDetections};
        if (m.info.has_masks) need.push_back(kMasks);
        else need.insert(need.end(), {kCoefficients, kPrototypes});
        for (const std::string& n : need)
            if (!have.count(n)) throw Error(onnx_path + ": output '" + n + "' of the ONNX contract is missing");
        if (m.info.has_mask_scores) need.push_back(kMaskScores);
        m.output_names = need;
    } catch (const Ort::Exception& e) {
        throw Error(onnx_path + ": " + e.what());
    }
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

const ModelInfo& Model::info() const { return impl_->info; }
const std::string& Model::provider() const { return impl_->provider; }

static cv::Mat as_bgr(const cv::Mat& img) {
    if (img.empty()) throw Error("empty image");
    if (img.depth() != CV_8U) throw Error("image must be 8-bit (CV_8U), got depth " + std::to_string(img.depth()));
    cv::Mat bgr;
    switch (img.channels()) {
        case 3: return img;
        case 1: cv::cvtColor(img, bgr, cv::COLOR_GRAY2BGR); return bgr;
        case 4: cv::cvtColor(img, bgr, cv::COLOR_BGRA2BGR); return bgr;
        default: throw Error("image must have 1, 3 or 4 channels, got " + std::to_string(img.channels()));
    }
}

cv::Mat Model::preprocess(const cv::Mat& image) const {
    const ModelInfo& info = impl_->info;
    const int S = info.input_size;
    cv::Mat f;
    as_bgr(image).convertTo(f, CV_32FC3);
    const cv::Mat r = bilinear_resize(f, S, S);
    const bool norm = info.transform == "normalize";
    const int sizes[] = {1, 3, S, S};
    cv::Mat blob(4, sizes, CV_32F);
    float* planes[3];
    float mean[3], stdv[3];
    for (int c = 0; c < 3; ++c) {  // input channel c (BGR) goes to plane 2 - c when the model wants RGB
        planes[c] = blob.ptr<float>() + static_cast<size_t>(info.rgb ? 2 - c : c) * S * S;
        mean[c] = norm ? static_cast<float>(info.mean_bgr[c]) : 0.0f;
        stdv[c] = norm ? static_cast<float>(info.std_bgr[c]) : 255.0f;
    }
    for (int y = 0; y < S; ++y) {
        const float* px = r.ptr<float>(y);
        for (int x = 0; x < S; ++x, px += 3)
            for (int c = 0; c < 3; ++c) planes[c][y * S + x] = (px[c] - mean[c]) / stdv[c];
    }
    return blob;
}

std::vector<Detection> Model::predict(const cv::Mat& image) const {
    const Impl& m = *impl_;
    const cv::Mat bgr = as_bgr(image);
    const int W = bgr.cols, H = bgr.rows, S = m.info.input_size;
    cv::Mat blob = preprocess(bgr);

    std::vector<Ort::Value> outs;
    try {
        Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
        const int64_t shape[] = {1, 3, S, S};
        Ort::Value input = Ort::Value::CreateTensor<float>(mem, blob.ptr<float>(), blob.total(), shape, 4);
        const char* in_names[] = {m.input_name.c_str()};
        std::vector<const char*> out_names;
        for (const auto& n : m.output_names) out_names.push_back(n.c_str());
        outs = m.session->Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names.data(), out_names.size());
    } catch (const Ort::Exception& e) {
        throw Error(m.path + ": inference failed: " + e.what());
    }
    std::map<std::string, Output> o;
    for (size_t i = 0; i < outs.size(); ++i)
        o[m.output_names[i]] = read_output(outs[i], m.output_names[i].c_str());

    const Output &boxes = o[kBoxes], &scores = o[kScores], &classes = o[kClasses], &num = o[kNumDetections];
    if (boxes.shape.size() != 3 || !boxes.f) throw Error("output 'boxes' does not have the contract's shape");
    const int64_t D = boxes.shape[1];
    check_shape(boxes, kBoxes, {1, D, 4});
    check_shape(scores, kScores, {1, D});
    check_shape(classes, kClasses, {1, D});
    check_shape(num, kNumDetections, {1});
    if (!scores.f || classes.ints.empty() || num.ints.empty()) throw Error("contract outputs have wrong types");
    const int64_t n = std::min<int64_t>(std::max<int64_t>(num.ints[0], 0), D);
    const float* mask_scores = m.info.has_mask_scores ? o[kMaskScores].f : nullptr;
    if (m.info.has_mask_scores) check_shape(o[kMaskScores], kMaskScores, {1, D});

    const std::vector<int> keep = select_rows(scores.f, mask_scores, n, m.options.score_threshold);

    // Soft masks at prototype resolution, one row (h*w) per kept detection.
    int h = 0, w = 0;
    cv::Mat soft;
    if (m.info.has_masks) {
        const Output& mk = o[kMasks];
        if (mk.shape.size() != 4 || !mk.f) throw Error("output 'masks' does not have the contract's shape");
        check_shape(mk, kMasks, {1, D, -1, -1});
        h = static_cast<int>(mk.shape[2]), w = static_cast<int>(mk.shape[3]);
        soft.create(static_cast<int>(keep.size()), h * w, CV_32F);
        for (size_t j = 0; j < keep.size(); ++j)
            std::copy_n(mk.f + static_cast<size_t>(keep[j]) * h * w, h * w, soft.ptr<float>(static_cast<int>(j)));
    } else if (!keep.empty()) {
        const Output &coef = o[kCoefficients], &proto = o[kPrototypes];
        if (proto.shape.size() != 4 || !proto.f || !coef.f) throw Error("output 'prototypes' has not the contract's shape");
        h = static_cast<int>(proto.shape[1]), w = static_cast<int>(proto.shape[2]);
        const int k = static_cast<int>(proto.shape[3]);
        check_shape(proto, kPrototypes, {1, h, w, k});
        check_shape(coef, kCoefficients, {1, D, k});
        cv::Mat C(static_cast<int>(keep.size()), k, CV_32F);
        for (size_t j = 0; j < keep.size(); ++j)
            std::copy_n(coef.f + static_cast<size_t>(keep[j]) * k, k, C.ptr<float>(static_cast<int>(j)));
        const cv::Mat P(h * w, k, CV_32F, const_cast<float*>(proto.f));
        cv::gemm(C, P, 1.0, cv::noArray(), 0.0, soft, cv::GEMM_2_T);  // (n, h*w) = C P^T
        soft.forEach<float>([](float& v, const int*) { v = 1.0f / (1.0f + std::exp(-v)); });
        for (size_t j = 0; j < keep.size(); ++j) {
            cv::Mat mj = soft.row(static_cast<int>(j)).reshape(1, h);
            crop(mj, boxes.f + static_cast<size_t>(keep[j]) * 4);
        }
    }

    std::vector<Detection> dets;
    dets.reserve(keep.size());
    for (size_t j = 0; j < keep.size(); ++j) {
        const int i = keep[j];
        Detection d;
        const int64_t cls = classes.ints[i];
        if (cls < 0 || cls >= static_cast<int64_t>(m.info.class_names.size()))
            throw Error("class index " + std::to_string(cls) + " out of range of yolact.class_names");
        d.class_id = static_cast<int>(cls);
        d.class_name = m.info.class_names[d.class_id];
        d.category_id = m.info.category_ids.empty() ? d.class_id + 1 : m.info.category_ids[d.class_id];
        d.score = scores.f[i];
        d.mask_score = mask_scores ? mask_scores[i] : d.score;
        d.box = to_pixels(boxes.f + static_cast<size_t>(i) * 4, W, H);
        const cv::Mat up = bilinear_resize(soft.row(static_cast<int>(j)).reshape(1, h), H, W);
        cv::compare(up, 0.5, d.mask, cv::CMP_GT);  // 255 where > 0.5
        dets.push_back(std::move(d));
    }
    return dets;
}

std::string onnxruntime_version() { return OrtGetApiBase()->GetVersionString(); }

}  // namespace yolact
