// yolact-cpp-run: segment images with a yolact-export ONNX model and write COCO results.
//
//   yolact-cpp-run model.onnx IMAGE|FOLDER ... --json out.json [--overlay DIR] [--masks rle|image|none]
//                  [--batch N] [--top-k N] [--provider cpu|cuda[:N]|tensorrt[:N]] [--threads N]
//                  [--score-threshold X]
//
// Folders are searched as yolact-run searches them (recursive, sorted, hidden names skipped).
// Exit status: 0 all images done; 1 some image could not be read or processed (the others are
// still processed and written); 2 bad arguments, unusable model, or the JSON could not be written.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "yolact/yolact.hpp"

namespace fs = std::filesystem;

namespace {

const char* kUsage =
    "usage: yolact-cpp-run MODEL.onnx IMAGE|FOLDER [...] [--json OUT.json] [--overlay DIR]\n"
    "                      [--masks rle|image|none] [--batch N] [--top-k N] [--threads N]\n"
    "                      [--provider cpu|cuda[:N]|tensorrt[:N]] [--score-threshold X]\n"
    "Writes COCO results (bbox [x,y,w,h], compressed RLE segmentation); image_id is the image's\n"
    "1-based position among the images (folders: recursive, sorted, hidden names skipped).\n"
    "  --score-threshold X  keep detections whose BOX score is > X (default 0.3, as yolact-run;\n"
    "                       YOLACT++ then ranks them by mask score; 0 keeps every row the graph\n"
    "                       returns, for COCO evaluation)\n"
    "  --top-k N            at most N detections per image, the best (default: all)\n"
    "  --masks M            rle (default): segmentation from the masks' windows; image: full-size\n"
    "                       masks (also what --overlay draws); none: no segmentation\n"
    "  --batch N            images per engine call (default 1)\n";

const std::set<std::string> kImageExtensions = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff",
                                                ".webp", ".ppm", ".pgm", ".jp2"};

// The command lines' default (yolact-run's too); the library's Options keep every row (0).
constexpr float kDefaultScoreThreshold = 0.3f;

struct Args {
    std::string model, json, overlay;
    std::vector<std::string> images;
    yolact::Options options;
    size_t batch = 1;
};

[[noreturn]] void usage_error(const std::string& msg) {
    std::cerr << "yolact-cpp-run: " << msg << "\n" << kUsage;
    std::exit(2);
}

Args parse_args(int argc, char** argv) {
    Args a;
    a.options.score_threshold = kDefaultScoreThreshold;
    a.options.masks = yolact::Masks::rle;
    bool masks_given = false;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= argc) usage_error(std::string(name) + " needs a value");
            return argv[++i];
        };
        try {
            if (s == "-h" || s == "--help") {
                std::cout << kUsage;
                std::exit(0);
            } else if (s == "--json") {
                a.json = value("--json");
            } else if (s == "--overlay") {
                a.overlay = value("--overlay");
            } else if (s == "--provider") {
                a.options.provider = value("--provider");
            } else if (s == "--threads") {
                a.options.threads = std::stoi(value("--threads"));
            } else if (s == "--score-threshold") {
                a.options.score_threshold = std::stof(value("--score-threshold"));
            } else if (s == "--top-k") {
                a.options.top_k = std::stoi(value("--top-k"));
                if (a.options.top_k < 0) usage_error("--top-k must be >= 0");
            } else if (s == "--batch") {
                const int batch = std::stoi(value("--batch"));
                if (batch < 1) usage_error("--batch must be >= 1");
                a.batch = static_cast<size_t>(batch);
            } else if (s == "--masks") {
                const std::string mode = value("--masks");
                if (mode != "rle" && mode != "image" && mode != "none") usage_error("--masks must be rle, image or none");
                a.options.masks = yolact::parse_masks(mode);
                masks_given = true;
            } else if (s.size() > 1 && s[0] == '-' && s[1] == '-') {
                usage_error("unknown option " + s);
            } else {
                positional.push_back(s);
            }
        } catch (const std::logic_error&) {  // stoi / stof
            usage_error("bad number for " + s);
        }
    }
    if (positional.size() < 2) usage_error("a model and at least one image are needed");
    if (!a.overlay.empty() && !masks_given) a.options.masks = yolact::Masks::image;  // the overlay draws them
    a.model = positional[0];
    a.images.assign(positional.begin() + 1, positional.end());
    return a;
}

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
std::vector<std::string> expand(const std::vector<std::string>& inputs, int& status) {
    std::vector<std::string> out;
    for (const std::string& input : inputs) {
        std::error_code ec;
        if (!fs::is_directory(input, ec)) {
            out.push_back(input);
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
        for (const fs::path& p : found) out.push_back(p.string());
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

}  // namespace

// One COCO entry per detection; YOLACT++ scores the segmentation with the mask score and gives the
// box score beside it (the original's COCO box results use it), as yolact-run.
std::string entry(const yolact::Detection& d, int image_id, const std::string& name, const cv::Size& size,
                  bool mask_scores) {
    std::ostringstream e;
    e << "{\"image_id\": " << image_id << ", \"file_name\": " << json_string(name)
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

struct Pending {
    std::string path;
    int image_id;
    cv::Mat image;
};

int main(int argc, char** argv) {
    Args args = parse_args(argc, argv);
    int status = 0;
    std::vector<std::string> entries;
    try {
        args.options.on_message = [](const std::string& line) { std::cerr << "yolact-cpp-run: " << line << "\n"; };
        yolact::Model model(args.model, args.options);
        const bool mask_scores = model.info().has_mask_scores;
        const std::vector<std::string> images = expand(args.images, status);
        if (!args.overlay.empty()) fs::create_directories(args.overlay);
        std::vector<Pending> batch;
        auto flush = [&]() {
            std::vector<cv::Mat> pixels;
            for (const Pending& p : batch) pixels.push_back(p.image);
            std::vector<std::vector<yolact::Detection>> results;
            try {
                results = model.predict(pixels);
            } catch (const std::exception& e) {
                for (const Pending& p : batch) std::cerr << "yolact-cpp-run: " << p.path << ": " << e.what() << " (skipped)\n";
                status = 1, batch.clear();
                return;
            }
            for (size_t i = 0; i < batch.size(); ++i) {
                Pending& p = batch[i];
                const std::string name = fs::path(p.path).filename().string();
                for (const yolact::Detection& d : results[i])
                    entries.push_back(entry(d, p.image_id, name, p.image.size(), mask_scores));
                std::cout << p.path << ": " << results[i].size() << " detections\n";
                if (args.overlay.empty()) continue;
                draw(p.image, results[i]);
                const fs::path out = fs::path(args.overlay) / (fs::path(p.path).stem().string() + ".png");
                if (!cv::imwrite(out.string(), p.image)) {
                    std::cerr << "yolact-cpp-run: cannot write " << out << "\n";
                    status = 1;
                }
            }
            batch.clear();
        };
        for (size_t k = 0; k < images.size(); ++k) {
            try {
                batch.push_back({images[k], static_cast<int>(k) + 1, yolact::read_image(images[k])});
            } catch (const yolact::Error& e) {
                std::cerr << "yolact-cpp-run: " << e.what() << " (skipped)\n";
                status = 1;
                continue;
            }
            if (batch.size() == args.batch) flush();
        }
        if (!batch.empty()) flush();
    } catch (const std::exception& e) {
        std::cerr << "yolact-cpp-run: error: " << e.what() << "\n";
        return 2;
    }
    if (!args.json.empty()) {
        const std::string tmp = args.json + ".tmp";
        {
            std::ofstream f(tmp, std::ios::binary);
            f << "[";
            for (size_t i = 0; i < entries.size(); ++i) f << (i ? ",\n " : "\n ") << entries[i];
            f << (entries.empty() ? "]\n" : "\n]\n");
            if (!f.good()) {
                std::cerr << "yolact-cpp-run: cannot write " << args.json << "\n";
                std::remove(tmp.c_str());
                return 2;
            }
        }
        if (std::rename(tmp.c_str(), args.json.c_str()) != 0) {
            std::cerr << "yolact-cpp-run: cannot write " << args.json << "\n";
            return 2;
        }
    }
    return status;
}
