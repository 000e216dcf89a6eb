// yolact-cpp-run: segment images with a yolact-export ONNX model and write COCO results.
//
//   yolact-cpp-run model.onnx IMAGE|FOLDER ... --json out.json [--annotations COCO.json]
//                  [--overlay DIR] [--masks rle|image|none] [--batch N] [--top-k N]
//                  [--providers auto|tensorrt|cuda|openvino|cpu] [--threads N] [--score-threshold X]
//
// Folders are searched as yolact-run searches them (recursive, sorted, hidden names skipped).
// Flags, image ids and exit status: cli_args.hpp (--help), image_ids.hpp.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli_args.hpp"
#include "image_ids.hpp"
#include "output_file.hpp"
#include "yolact/yolact.hpp"

namespace fs = std::filesystem;

namespace {

const std::set<std::string> kImageExtensions = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff",
                                                ".webp", ".ppm", ".pgm", ".jp2"};

// An input image: its path and its key (the path inside the folder given, POSIX; a file: its name),
// as yolact-run names it in the records and the --json.
struct Input {
    std::string path, key;
};

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += char(c);
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += char(c);
    }
    return out + "\"";
}

std::string json_float(float v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
    return buf;
}

// A folder's images as yolact-run finds them (pipeline/discover.py): recursive, hidden names
// skipped, sorted by path (component by component); an empty folder is an error line.
std::vector<Input> expand(const std::vector<std::string>& inputs, int& status) {
    std::vector<Input> out;
    for (const std::string& input : inputs) {
        std::error_code ec;
        if (!fs::is_directory(input, ec)) {
            out.push_back({input, fs::path(input).filename().generic_string()});
            continue;
        }
        std::vector<fs::path> found;
        fs::recursive_directory_iterator it(input, ec), end;
        for (; it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (!name.empty() && name[0] == '.') {
                if (it->is_directory(ec)) it.disable_recursion_pending();
                continue;
            }
            std::string ext = it->path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
            if (it->is_regular_file(ec) && kImageExtensions.count(ext)) found.push_back(it->path());
        }
        if (found.empty()) {
            std::cerr << "yolact-cpp-run: " << input << ": no images found in this folder\n";
            status = 1;
        }
        std::sort(found.begin(), found.end());
        for (const fs::path& p : found) out.push_back({p.string(), p.lexically_relative(input).generic_string()});
    }
    return out;
}

void draw(cv::Mat& img, const std::vector<yolact::Detection>& dets) {
    static const cv::Scalar palette[] = {{244, 67, 54},  {233, 30, 99}, {156, 39, 176}, {63, 81, 181},
                                         {3, 169, 244},  {0, 150, 136}, {139, 195, 74}, {255, 235, 59},
                                         {255, 152, 0},  {121, 85, 72}};
    for (size_t i = dets.size(); i-- > 0;) {  // best last, on top
        const yolact::Detection& d = dets[i];
        const cv::Scalar color = palette[i % 10];
        if (!d.mask.empty()) {
            cv::Mat tint(img.size(), img.type(), color), blended;
            cv::addWeighted(img, 0.55, tint, 0.45, 0.0, blended);
            blended.copyTo(img, d.mask);
        }
        cv::rectangle(img, {d.box.x1, d.box.y1}, {d.box.x2, d.box.y2}, color, 2);
        char label[128];
        std::snprintf(label, sizeof label, "%s %.2f", d.class_name.c_str(), d.score);
        cv::putText(img, label, {d.box.x1, std::max(d.box.y1 - 4, 10)}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
                    {255, 255, 255}, 1, cv::LINE_AA);
    }
}

// One COCO entry per detection; YOLACT++ scores the segmentation with the mask score and gives the
// box score beside it (the original's COCO box results use it), as yolact-run.
std::string entry(const yolact::Detection& d, int64_t image_id, const std::string& key, const cv::Size& size,
                  bool mask_scores) {
    std::ostringstream e;
    e << "{\"image_id\": " << image_id << ", \"file_name\": " << json_string(key)
      << ", \"category_id\": " << d.category_id << ", \"bbox\": [" << d.box.x1 << ", " << d.box.y1 << ", "
      << d.box.x2 - d.box.x1 << ", " << d.box.y2 - d.box.y1
      << "], \"score\": " << json_float(mask_scores ? d.mask_score : d.score);
    if (mask_scores) e << ", \"box_score\": " << json_float(d.score);
    const std::string rle = d.mask.empty() ? d.rle : yolact::rle_encode(d.mask);
    if (!d.mask.empty() || !d.rle.empty())
        e << ", \"segmentation\": {\"size\": [" << size.height << ", " << size.width
          << "], \"counts\": " << json_string(rle) << "}";
    return e.str() + "}";
}

// The --json's entries, each image under its id (image_ids.hpp); an image without one is left out.
class Results {
public:
    explicit Results(const std::string& annotations) {
        if (!annotations.empty()) truth_ = image_ids::read_ground_truth(annotations);
    }

    // False (after its error line) when the image has no id of its own.
    bool add(const Input& input, const std::vector<yolact::Detection>& dets, const cv::Size& size, bool mask_scores) {
        const std::optional<int64_t> id = image_ids::image_id(input.key, truth_ ? &*truth_ : nullptr);
        std::string problem;
        if (!id) problem = "not in " + truth_->path + " (no image id there); left out of the --json";
        else if (owners_.count(*id)) problem = "image id " + std::to_string(*id) + " is already " + owners_[*id] +
                                              "'s; left out of the --json (give --annotations to set the ids)";
        if (!problem.empty()) {
            std::cerr << "yolact-cpp-run: " << input.key << ": " << problem << "\n";
            return false;
        }
        owners_[*id] = input.key;
        for (const yolact::Detection& d : dets) entries_.push_back(entry(d, *id, input.key, size, mask_scores));
        return true;
    }

    std::string write(const std::string& path) const {
        std::string text = "[";
        for (size_t i = 0; i < entries_.size(); ++i) text += (i ? ",\n " : "\n ") + entries_[i];
        return write_atomically(path, text + (entries_.empty() ? "]\n" : "\n]\n"));
    }

private:
    std::optional<image_ids::GroundTruth> truth_;
    std::map<int64_t, std::string> owners_;
    std::vector<std::string> entries_;
};

struct Pending {
    Input input;
    cv::Mat image;
};

}  // namespace

int main(int argc, char** argv) {
    cli::Args args = cli::parse_args(argc, argv);
    int status = 0;
    try {
        Results results(args.annotations);
        args.options.on_message = [](const std::string& line) { std::cerr << "yolact-cpp-run: " << line << "\n"; };
        yolact::Model model(args.model, args.options);
        const bool mask_scores = model.info().has_mask_scores;
        const std::vector<Input> images = expand(args.images, status);
        if (!args.overlay.empty()) fs::create_directories(args.overlay);
        std::vector<Pending> batch;
        auto flush = [&]() {
            std::vector<cv::Mat> pixels;
            for (const Pending& p : batch) pixels.push_back(p.image);
            std::vector<std::vector<yolact::Detection>> found;
            try {
                found = model.predict(pixels);
            } catch (const std::exception& e) {
                for (const Pending& p : batch) std::cerr << "yolact-cpp-run: " << p.input.path << ": " << e.what() << " (skipped)\n";
                status = 1, batch.clear();
                return;
            }
            for (size_t i = 0; i < batch.size(); ++i) {
                Pending& p = batch[i];
                if (!args.json.empty() && !results.add(p.input, found[i], p.image.size(), mask_scores)) status = 1;
                std::cout << p.input.path << ": " << found[i].size() << " detections\n";
                if (args.overlay.empty()) continue;
                draw(p.image, found[i]);
                const fs::path out = fs::path(args.overlay) / (fs::path(p.input.path).stem().string() + ".png");
                std::vector<uchar> png;
                const std::string why = cv::imencode(".png", p.image, png)
                                            ? write_atomically(out.string(), std::string(png.begin(), png.end()))
                                            : "PNG encoding failed";
                if (!why.empty()) {
                    std::cerr << "yolact-cpp-run: cannot write " << out.string() << ": " << why << "\n";
                    status = 1;
                }
            }
            batch.clear();
        };
        for (const Input& input : images) {
            try {
                batch.push_back({input, yolact::read_image(input.path)});
            } catch (const yolact::Error& e) {
                std::cerr << "yolact-cpp-run: " << e.what() << " (skipped)\n";
                status = 1;
                continue;
            }
            if (batch.size() == args.batch) flush();
        }
        if (!batch.empty()) flush();
        const std::string why = args.json.empty() ? "" : results.write(args.json);
        if (!why.empty()) {
            std::cerr << "yolact-cpp-run: cannot write " << args.json << ": " << why << "\n";
            return 2;
        }
    } catch (const std::exception& e) {
        std::cerr << "yolact-cpp-run: error: " << e.what() << "\n";
        return 2;
    }
    return status;
}
