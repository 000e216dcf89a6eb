// The contract's outputs: boxes [B, D, 4], scores / classes [B, D], num_detections [B], then
// masks [B, D, h, w] or coefficients [B, D, k] + prototypes [B, h, w, k], mask_scores [B, D].
#include "outputs.hpp"

#include <algorithm>

#include "contract.hpp"

namespace yolact::detail {

namespace {

using namespace contract;

struct Tensor {
    std::vector<int64_t> shape;
    const float* f = nullptr;
    std::vector<int64_t> ints;  // int64 or int32 outputs, widened
};

Tensor read(const Ort::Value& v, const std::string& name, const std::string& path) {
    Tensor t;
    auto info = v.GetTensorTypeAndShapeInfo();
    t.shape = info.GetShape();
    const size_t n = info.GetElementCount();
    switch (info.GetElementType()) {
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: t.f = v.GetTensorData<float>(); break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: t.ints.assign(v.GetTensorData<int64_t>(), v.GetTensorData<int64_t>() + n); break;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: t.ints.assign(v.GetTensorData<int32_t>(), v.GetTensorData<int32_t>() + n); break;
        default: throw Error(path + ": output '" + name + "' has an unexpected element type");
    }
    return t;
}

void check(const Tensor& t, const std::string& name, const std::vector<int64_t>& want, bool floats,
           const std::string& path) {
    bool ok = t.shape.size() == want.size() && (t.f != nullptr) == floats;
    for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || t.shape[i] == want[i];
    if (!ok) throw Error(path + ": output '" + name + "' does not have the contract's shape or type");
}

}  // namespace

Outputs::Outputs(std::vector<Ort::Value> values, const std::vector<std::string>& names, int64_t batch,
                 const std::string& path)
    : values_(std::move(values)) {
    std::vector<Tensor> t;
    for (size_t i = 0; i < values_.size(); ++i) t.push_back(read(values_[i], names[i], path));
    auto get = [&](const char* name) -> const Tensor* {
        auto at = std::find(names.begin(), names.end(), name);
        return at == names.end() ? nullptr : &t[at - names.begin()];
    };
    const Tensor& boxes = *get(kBoxes);
    const int64_t D = boxes.shape.size() == 3 ? boxes.shape[1] : -1;
    check(boxes, kBoxes, {batch, D, 4}, true, path);
    check(*get(kScores), kScores, {batch, D}, true, path);
    check(*get(kClasses), kClasses, {batch, D}, false, path);
    check(*get(kNumDetections), kNumDetections, {batch}, false, path);
    RawImage& r = first_;
    r.D = D;
    r.boxes = boxes.f;
    r.scores = get(kScores)->f;
    classes_ = get(kClasses)->ints;
    num_ = get(kNumDetections)->ints;
    if (const Tensor* ms = get(kMaskScores)) check(*ms, kMaskScores, {batch, D}, true, path), r.mask_scores = ms->f;
    if (const Tensor* masks = get(kMasks)) {
        check(*masks, kMasks, {batch, D, -1, -1}, true, path);
        r.masks = masks->f, r.h = static_cast<int>(masks->shape[2]), r.w = static_cast<int>(masks->shape[3]);
    } else if (const Tensor* proto = get(kPrototypes)) {
        check(*proto, kPrototypes, {batch, -1, -1, -1}, true, path);
        r.h = static_cast<int>(proto->shape[1]), r.w = static_cast<int>(proto->shape[2]);
        r.k = static_cast<int>(proto->shape[3]);
        check(*get(kCoefficients), kCoefficients, {batch, D, r.k}, true, path);
        r.prototypes = proto->f, r.coefficients = get(kCoefficients)->f;
    }
}

RawImage Outputs::image(int64_t b) const {
    RawImage r = first_;
    const size_t D = static_cast<size_t>(r.D), hw = static_cast<size_t>(r.h) * r.w;
    r.count = std::clamp<int64_t>(num_[b], 0, r.D);
    r.boxes += b * D * 4;
    r.scores += b * D;
    if (r.mask_scores) r.mask_scores += b * D;
    r.classes = classes_.data() + b * D;
    if (r.masks) r.masks += b * D * hw;
    if (r.coefficients) r.coefficients += b * D * r.k, r.prototypes += b * hw * r.k;
    return r;
}

}  // namespace yolact::detail
