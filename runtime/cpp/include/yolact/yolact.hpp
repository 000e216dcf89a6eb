// YOLACT / YOLACT++ runtime over ONNX Runtime, for models exported by yolact-export
// (README: "ONNX output contract (version 1)"). Everything the runtime needs (class names,
// input size, preprocessing) is read from the model's metadata, before any session is built.
//
//   yolact::Model model("yolact_base.onnx", {"cpu", 0, 0.3f});
//   for (const yolact::Detection& d : model.predict(cv::imread("photo.jpg")))
//       std::cout << d.class_name << " " << d.score << "\n";
//
// Errors are thrown as yolact::Error (a std::runtime_error), one line naming the file and cause.
// The library prints nothing: what it has to say goes to Options::on_message.
// Threads: one Model may be shared; predict (and preprocess) may run on several threads at once.
// This header needs OpenCV only: ONNX Runtime stays an implementation detail.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace yolact {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What each Detection carries of its instance mask (bit for bit the Python runtime's masks).
enum class Masks {
    image,  // Detection::mask at image size
    proto,  // Detection::mask at prototype size (cropped to the padded box, not upsampled)
    rle,    // Detection::rle only: COCO compressed counts at image size (no image-size mask made)
    none,   // boxes, classes and scores only
};

// "image", "proto", "rle" or "none" -> Masks; throws Error on anything else.
Masks parse_masks(const std::string& name);

struct Options {
    // The Python runtime's choices: "auto", "tensorrt[:N]", "cuda[:N]", "openvino" (ONNX Runtime's
    // OpenVINO provider, where the build has it), "cpu". auto takes TensorRT, then CUDA, then CPU,
    // and gives on_message one line saying which and why; an explicit provider that this build
    // lacks, or that fails to start, throws Error. Model::provider() tells which one runs.
    std::string provider = "cpu";
    // Intra-op threads; 0 lets ONNX Runtime choose.
    int threads = 0;
    // Detections whose box score is not above this are dropped (before YOLACT++ re-scoring, as
    // the original's postprocess). 0 keeps every valid row: the graph's own NMS threshold
    // (metadata yolact.nms) has already been applied. The command lines (yolact-cpp-run,
    // yolact-run) default to 0.3 instead; the Python Yolact class, like this, to 0.
    float score_threshold = 0.0f;
    // At most this many detections per image, the best after ranking; negative keeps all.
    int top_k = -1;
    Masks masks = Masks::image;
    // auto's one provider line (which one, what was passed over), on the constructing thread.
    // Unset: not reported (Model::provider() still tells which provider runs).
    std::function<void(const std::string&)> on_message;
    // Called with the provider's name just before ONNX Runtime builds the session (a TensorRT
    // engine build can take minutes): after the file's metadata and graph were checked.
    std::function<void(const std::string&)> before_session;
    // Seconds spent per stage of each predict call ("preprocess", "engine", "postprocess"), for
    // profiling; called on the predicting thread.
    std::function<void(const char* stage, double seconds)> on_stage;
};

struct Box {
    int x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // pixels, ordered, clamped to the image, truncated
};

struct Detection {
    int class_id = 0;         // 0-based, background excluded
    std::string class_name;   // from yolact.class_names
    int category_id = 0;      // yolact.category_ids[class_id], or class_id + 1 when the model has none
    float score = 0.0f;       // box score
    float mask_score = 0.0f;  // YOLACT++ (output mask_scores): score x predicted mask IoU; else == score
    Box box;
    cv::Mat mask;             // CV_8U, 255 inside the instance, 0 outside (Masks::image / proto)
    std::string rle;          // COCO RLE counts (compressed string) at image size (Masks::rle)
};

// What the metadata says, after parsing.
struct ModelInfo {
    std::string path;                    // the model file
    int contract_version = 0;
    std::string exporter_version;
    std::string config;                  // e.g. "yolact_base"
    std::vector<std::string> class_names;
    std::vector<int> category_ids;       // empty when the model has none (null)
    int input_size = 0;                  // S: the input is [B, 3, S, S]
    int fixed_batch = 0;                 // B when the graph fixes it, else 0 (dynamic)
    std::string transform;               // "normalize" or "to_float"
    cv::Scalar mean_bgr, std_bgr;        // used by "normalize"
    bool rgb = true;                     // channel_order: swap BGR -> RGB
    std::string nms_json;                // yolact.nms, verbatim
    int mask_dim = 0;
    bool has_masks = false;              // output `masks` (assembled in the graph)
    bool has_mask_scores = false;        // output `mask_scores` (YOLACT++)
};

class Model {
public:
    // Reads and checks the file's metadata and graph inputs/outputs first, then opens the session.
    // Throws yolact::Error when the file is missing or unreadable, not ONNX, lacks the yolact
    // metadata / outputs of contract version 1, or ONNX Runtime cannot load it.
    explicit Model(const std::string& onnx_path, const Options& options = Options());
    ~Model();
    Model(Model&&) noexcept;
    Model& operator=(Model&&) noexcept;
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    // One BGR image (CV_8UC3; CV_8UC1 and CV_8UC4 are converted). Detections come in the model's
    // order (score, descending); for YOLACT++ ranked by mask_score (stable), as the original's
    // prep_display. Throws yolact::Error on an empty or unsupported image.
    std::vector<Detection> predict(const cv::Mat& bgr) const;

    // Several images (any sizes) in one engine call (a fixed-batch graph: in chunks of its batch,
    // the last padded); one list of detections per image, in order.
    std::vector<std::vector<Detection>> predict(const std::vector<cv::Mat>& images) const;

    // The network input for one image: float32, 1 x 3 x S x S (a 4-d cv::Mat), preprocessed as
    // the metadata says (bit for bit the Python runtime's).
    cv::Mat preprocess(const cv::Mat& bgr) const;

    const ModelInfo& info() const;
    const Options& options() const;
    const std::string& provider() const;  // "cpu", "cuda", "tensorrt" or "openvino": the one in use

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// COCO RLE counts (the compressed string pycocotools writes) of a CV_8UC1 mask (nonzero inside).
std::string rle_encode(const cv::Mat& mask);

// Why the encoded image file `bytes` is cut off (the Python runtime's causes), or "" when it looks
// whole (or its format is not checked).
std::string truncation_cause(const std::string& bytes);

// An image file as BGR, refused when missing, cut off (truncation_cause) or undecodable: throws
// Error("cannot read image PATH: cause").
cv::Mat read_image(const std::string& path);

// Version of ONNX Runtime loaded at run time (e.g. "1.32.0").
std::string onnxruntime_version();

}  // namespace yolact
