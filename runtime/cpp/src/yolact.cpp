// YOLACT runtime over the ONNX Runtime C++ API: file checks -> session -> preprocess -> engine ->
// postprocess. The contract (output names, shapes, pre/postprocessing) is the README's "ONNX
// output contract (version 1)". Thread safety: after construction nothing here is written, and
// ONNX Runtime allows concurrent Run calls on one session, so predict may run on many threads.
#include "yolact/yolact.hpp"

#include <algorithm>
#include <chrono>

#include <onnxruntime_cxx_api.h>
#include <opencv2/imgproc.hpp>

#include "contract.hpp"
#include "metadata.hpp"
#include "onnx_file.hpp"
#include "outputs.hpp"
#include "postprocess.hpp"
#include "providers.hpp"
#include "resize.hpp"

namespace yolact {
namespace {

using namespace contract;

const detail::TensorInfo* find(const std::vector<detail::TensorInfo>& all, const std::string& name) {
    for (const detail::TensorInfo& t : all)
        if (t.name == name) return &t;
    return nullptr;
}

// The graph's input and outputs against the contract and the metadata; the output names to ask for.
std::vector<std::string> check_graph(const detail::OnnxFile& file, ModelInfo& info, const std::string& path) {
    if (file.inputs.size() != 1) throw Error(path + ": expected one input (images)");
    const std::vector<int64_t>& in = file.inputs[0].shape;
    const int64_t S = info.input_size;
    if (in.size() != 4 || (in[1] > 0 && in[1] != 3) || (in[2] > 0 && in[2] != S) || (in[3] > 0 && in[3] != S))
        throw Error(path + ": input '" + file.inputs[0].name + "' is not [B, 3, " + std::to_string(S) + ", " +
                    std::to_string(S) + "]");
    info.fixed_batch = in[0] > 0 ? static_cast<int>(in[0]) : 0;
    info.has_masks = find(file.outputs, kMasks) != nullptr;
    info.has_mask_scores = find(file.outputs, kMaskScores) != nullptr;
    std::vector<std::string> need = {kBoxes, kScores, kClasses, kNumDetections};
    if (info.has_masks) need.push_back(kMasks);
    else need.insert(need.end(), {kCoefficients, kPrototypes});
    for (const std::string& n : need)
        if (!find(file.outputs, n)) throw Error(path + ": output '" + n + "' of the ONNX contract is missing");
    if (info.has_mask_scores) need.push_back(kMaskScores);
    return need;
}

cv::Mat as_bgr(const cv::Mat& img) {
    if (img.empty()) throw Error("empty image");
    if (img.depth() != CV_8U) throw Error("image must be 8-bit (CV_8U), got depth " + std::to_string(img.depth()));
    cv::Mat bgr;
    switch (img.channels()) {
        case 3: return img.isContinuous() ? img : img.clone();
        case 1: cv::cvtColor(img, bgr, cv::COLOR_GRAY2BGR); return bgr;
        case 4: cv::cvtColor(img, bgr, cv::COLOR_BGRA2BGR); return bgr;
        default: throw Error("image must have 1, 3 or 4 channels, got " + std::to_string(img.channels()));
    }
}

}  // namespace

Masks parse_masks(const std::string& name) {
    if (name == "image") return Masks::image;
    if (name == "proto") return Masks::proto;
    if (name == "rle") return Masks::rle;
    if (name == "none") return Masks::none;
    throw Error("masks must be one of image, proto, rle, none (got '" + name + "')");
}

struct Model::Impl {
    std::string path;
    Options options;
    std::string provider;
    ModelInfo info;
    std::vector<std::string> output_names;
    std::unique_ptr<Ort::Session> session;
    std::string input_name;

    // Preprocessed images [first, first + count) of `batch`, padded with zeros to `size` rows.
    detail::Outputs run(const std::vector<cv::Mat>& blobs, size_t first, size_t count, size_t size) const;
};

Model::Model(const std::string& onnx_path, const Options& options) : impl_(new Impl) {
    Impl& m = *impl_;
    m.path = onnx_path;
    m.options = options;
    // Everything that can refuse the file is checked before a session (or TensorRT engine) exists.
    const detail::OnnxFile file = detail::read_onnx_file(onnx_path);
    m.info = detail::read_metadata(file.metadata, onnx_path);
    m.info.path = onnx_path;
    m.output_names = check_graph(file, m.info, onnx_path);
    m.input_name = file.inputs[0].name;
    try {
        m.session = detail::open_session(onnx_path, options.threads, options.provider, m.provider, options.on_message,
                                        options.before_session);
    } catch (const Ort::Exception& e) {
        throw Error("ONNX Runtime cannot load " + onnx_path + ": " + e.what());
    }
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

const ModelInfo& Model::info() const { return impl_->info; }
const Options& Model::options() const { return impl_->options; }
const std::string& Model::provider() const { return impl_->provider; }

cv::Mat Model::preprocess(const cv::Mat& image) const {
    const ModelInfo& info = impl_->info;
    const int S = info.input_size;
    const cv::Mat r = detail::resize_bgr(as_bgr(image), S, S);
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

detail::Outputs Model::Impl::run(const std::vector<cv::Mat>& blobs, size_t first, size_t count, size_t size) const {
    const int64_t S = info.input_size;
    const size_t per_image = static_cast<size_t>(3 * S * S);
    std::vector<float> input(size * per_image, 0.0f);
    for (size_t b = 0; b < count; ++b) std::copy_n(blobs[first + b].ptr<float>(), per_image, input.data() + b * per_image);
    try {
        Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
        const int64_t shape[] = {static_cast<int64_t>(size), 3, S, S};
        Ort::Value tensor = Ort::Value::CreateTensor<float>(mem, input.data(), input.size(), shape, 4);
        const char* in_names[] = {input_name.c_str()};
        std::vector<const char*> out_names;
        for (const auto& n : output_names) out_names.push_back(n.c_str());
        auto values = session->Run(Ort::RunOptions{nullptr}, in_names, &tensor, 1, out_names.data(), out_names.size());
        return detail::Outputs(std::move(values), output_names, static_cast<int64_t>(size), path);
    } catch (const Ort::Exception& e) {
        throw Error(path + ": inference failed: " + e.what());
    }
}

std::vector<std::vector<Detection>> Model::predict(const std::vector<cv::Mat>& images) const {
    const Impl& m = *impl_;
    using clock = std::chrono::steady_clock;
    auto started = clock::now();
    auto lap = [&](const char* stage) {
        if (!m.options.on_stage) return;
        const auto now = clock::now();
        m.options.on_stage(stage, std::chrono::duration<double>(now - started).count());
        started = now;
    };
    std::vector<cv::Mat> blobs;
    for (const cv::Mat& image : images) blobs.push_back(preprocess(image));
    lap("preprocess");
    std::vector<std::vector<Detection>> out;
    const size_t step = m.info.fixed_batch > 0 ? m.info.fixed_batch : std::max<size_t>(images.size(), 1);
    for (size_t first = 0; first < images.size(); first += step) {
        const size_t count = std::min(step, images.size() - first);
        const detail::Outputs outputs = m.run(blobs, first, count, step);
        lap("engine");
        for (size_t b = 0; b < count; ++b) {
            const cv::Mat& image = images[first + b];
            out.push_back(detail::postprocess(outputs.image(static_cast<int64_t>(b)), image.rows, image.cols, m.info,
                                              m.options));
        }
        lap("postprocess");
    }
    return out;
}

std::vector<Detection> Model::predict(const cv::Mat& image) const { return std::move(predict(std::vector<cv::Mat>{image})[0]); }

std::string onnxruntime_version() { return OrtGetApiBase()->GetVersionString(); }

}  // namespace yolact
