// yolact-cpp-run: segment images with a yolact-export ONNX model and write COCO results.
//
//   yolact-cpp-run model.onnx img1.jpg img2.jpg --json out.json [--overlay DIR]
//                  [--provider cpu|cuda[:N]|tensorrt[:N]] [--threads N] [--score-threshold X]
//
// --score-threshold defaults to 0.3, as yolact-run's does (0 keeps every row: COCO evaluation).
// Exit status: 0 all images done; 1 some image could not be read or processed (the others are
// still processed and written); 2 bad arguments, unusable model, or the JSON could not be written.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "truncation.hpp"
#include "yolact/yolact.hpp"

namespace fs = std::filesystem;

namespace {

const char* kUsage =
    "usage: yolact-cpp-run MODEL.onnx IMAGE [IMAGE ...] [--json OUT.json] [--overlay DIR]\n"
    "                      [--provider cpu|cuda[:N]|tensorrt[:N]] [--threads N] [--score-threshold X]\n"
    "Writes COCO results (bbox [x,y,w,h], uncompressed RLE segmentation); image_id is the image's\n"
    "1-based position among the IMAGE arguments.\n"
    "  --score-threshold X  keep detections whose score is at least X (default 0.3, as yolact-run;\n"
    "                       0 keeps every row the graph returns, for COCO evaluation)\n";

// The command lines' default (yolact-run's too); the library's Options keep every row (0).
constexpr float kDefaultScoreThreshold = 0.3f;

struct Args {
    std::string model, json, overlay;
    std::vector<std::string> images;
    yolact::Options options;
};

[[noreturn]] void usage_error(const std::string& msg) {
    std::cerr << "yolact-cpp-run: " << msg << "\n" << kUsage;
    std::exit(2);
}

Args parse_args(int argc, char** argv) {
    Args a;
    a.options.score_threshold = kDefaultScoreThreshold;
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

// COCO uncompressed RLE: run lengths over the mask in column-major order, starting with zeros.
std::string rle_counts(const cv::Mat& mask) {
    cv::Mat t;
    cv::transpose(mask, t);  // rows of t = columns of mask
    std::ostringstream out;
    out << '[';
    const unsigned char* p = t.ptr<unsigned char>();
    const size_t n = t.total();
    bool cur = false, first = true;
    size_t run = 0;
    for (size_t i = 0; i < n; ++i) {
        bool v = p[i] != 0;
        if (v != cur) {
            out << (first ? "" : ",") << run;
            first = false, run = 0, cur = v;
        }
        ++run;
    }
    out << (first ? "" : ",") << run << ']';
    return out.str();
}

// cv::imread's decoders on the file's bytes, after the truncation check; empty, with `why`, on failure.
cv::Mat read_image(const std::string& path, std::string& why) {
    std::ifstream file(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    why = bytes.empty() ? "empty file" : truncation::cause(bytes);
    if (file.bad()) why = "cannot read file";
    if (!why.empty()) return {};
    cv::Mat img = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                               cv::IMREAD_COLOR);
    if (img.empty()) why = "not a readable image";
    return img;
}

void draw(cv::Mat& img, const std::vector<yolact::Detection>& dets) {
    static const cv::Scalar palette[] = {{244, 67, 54},  {233, 30, 99}, {156, 39, 176}, {63, 81, 181},
                                         {3, 169, 244},  {0, 150, 136}, {139, 195, 74}, {255, 235, 59},
                                         {255, 152, 0},  {121, 85, 72}};
    for (size_t i = dets.size(); i-- > 0;) {  // best last, on top
        const yolact::Detection& d = dets[i];
        const cv::Scalar color = palette[i % 10];
        cv::Mat tint(img.size(), img.type(), color), blended;
        cv::addWeighted(img, 0.55, tint, 0.45, 0.0, blended);
        blended.copyTo(img, d.mask);
        cv::rectangle(img, {d.box.x1, d.box.y1}, {d.box.x2, d.box.y2}, color, 2);
        char label[128];
        std::snprintf(label, sizeof label, "%s %.2f", d.class_name.c_str(), d.score);
        cv::putText(img, label, {d.box.x1, std::max(d.box.y1 - 4, 10)}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
                    {255, 255, 255}, 1, cv::LINE_AA);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Args args = parse_args(argc, argv);
    int status = 0;
    std::vector<std::string> entries;
    try {
        yolact::Model model(args.model, args.options);
        const bool mask_scores = model.info().has_mask_scores;
        if (!args.overlay.empty()) fs::create_directories(args.overlay);
        for (size_t k = 0; k < args.images.size(); ++k) {
            const std::string& path = args.images[k];
            const int image_id = static_cast<int>(k) + 1;
            std::error_code ec;
            if (!fs::is_regular_file(path, ec)) {
                std::cerr << "yolact-cpp-run: cannot read image " << path << ": no such file (skipped)\n";
                status = 1;
                continue;
            }
            std::string why;
            cv::Mat img = read_image(path, why);
            if (img.empty()) {
                std::cerr << "yolact-cpp-run: cannot read image " << path << ": " << why << " (skipped)\n";
                status = 1;
                continue;
            }
            std::vector<yolact::Detection> dets;
            try {
                dets = model.predict(img);
            } catch (const std::exception& e) {
                std::cerr << "yolact-cpp-run: " << path << ": " << e.what() << " (skipped)\n";
                status = 1;
                continue;
            }
            const std::string name = fs::path(path).filename().string();
            for (const yolact::Detection& d : dets) {
                std::ostringstream e;
                e << "{\"image_id\": " << image_id << ", \"file_name\": " << json_string(name)
                  << ", \"category_id\": " << d.category_id << ", \"bbox\": [" << d.box.x1 << ", " << d.box.y1
                  << ", " << d.box.x2 - d.box.x1 << ", " << d.box.y2 - d.box.y1
                  << "], \"score\": " << json_float(mask_scores ? d.mask_score : d.score);
                // As yolact-run: YOLACT++ scores the segmentation with the mask score and gives
                // the box score beside it (the original's COCO box results use it).
                if (mask_scores) e << ", \"box_score\": " << json_float(d.score);
                e << ", \"segmentation\": {\"size\": [" << d.mask.rows << ", " << d.mask.cols
                  << "], \"counts\": " << rle_counts(d.mask) << "}}";
                entries.push_back(e.str());
            }
            std::cout << path << ": " << dets.size() << " detections\n";
            if (!args.overlay.empty()) {
                draw(img, dets);
                fs::path out = fs::path(args.overlay) / (fs::path(path).stem().string() + ".png");
                if (!cv::imwrite(out.string(), img)) {
                    std::cerr << "yolact-cpp-run: cannot write " << out << "\n";
                    status = 1;
                }
            }
        }
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
