// yolact-cpp-run's command line: the flags, their help, and the parsed arguments.
#pragma once

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "yolact/yolact.hpp"

namespace cli {

inline const char* kUsage =
    "usage: yolact-cpp-run MODEL.onnx IMAGE|FOLDER [...] [--json OUT.json] [--annotations COCO.json]\n"
    "                      [--overlay DIR] [--masks rle|image|none] [--batch N] [--top-k N] [--threads N]\n"
    "                      [--providers auto|tensorrt|cuda|openvino|cpu] [--score-threshold X]\n"
    "Writes COCO results (bbox [x,y,w,h], compressed RLE segmentation, file_name: the path inside the\n"
    "folder given). Folders: recursive, sorted, hidden names skipped.\n"
    "  --json OUT.json       the COCO results; image_id: a numeric file stem's number, else a stable\n"
    "                        hash of the name, as yolact-run (README, \"COCO image ids\")\n"
    "  --annotations FILE    a COCO ground truth: the --json takes its image ids by file name (an image\n"
    "                        it does not list is left out of the --json, with an error line)\n"
    "  --overlay DIR         also draw each image's detections into DIR/<stem>.png\n"
    "  --score-threshold X   keep detections whose BOX score is above X (default 0.3, as yolact-run;\n"
    "                        YOLACT++ then ranks them by mask score; 0 keeps every row the graph\n"
    "                        returns, for COCO evaluation)\n"
    "  --top-k N             at most N detections per image, the best (default: all)\n"
    "  --masks M             rle (default): segmentation from the masks' windows; image: full-size\n"
    "                        masks (also what --overlay draws); none: no segmentation\n"
    "  --batch N             images per engine call (default 1)\n"
    "  --threads N           ONNX Runtime intra-op threads (default: its choice)\n"
    "  --providers P         auto (default): TensorRT, then CUDA, then ONNX Runtime's CPU, with one line\n"
    "                        saying which; tensorrt[:N], cuda[:N], openvino (ONNX Runtime's OpenVINO\n"
    "                        provider), cpu: exactly that one, or an error (exit 2) when this ONNX\n"
    "                        Runtime build lacks it. --provider: the old name (deprecated)\n"
    "Exit status: 0 all images done; 1 some input failed (the others are still processed and\n"
    "written); 2 bad arguments, a missing or invalid model, or an output that cannot be written.\n";

constexpr float kDefaultScoreThreshold = 0.3f;  // the command lines' default (yolact-run's too)

struct Args {
    std::string model, json, overlay, annotations;
    std::vector<std::string> images;
    yolact::Options options;
    size_t batch = 1;
};

[[noreturn]] inline void usage_error(const std::string& msg) {
    std::cerr << "yolact-cpp-run: " << msg << " (--help lists the flags)\n";
    std::exit(2);
}

inline int count(const std::string& name, const std::string& text, int minimum) {
    size_t used = 0;
    int n = 0;
    try {
        n = std::stoi(text, &used);
    } catch (const std::logic_error&) {
        used = 0;
    }
    if (used != text.size() || text.empty()) usage_error(name + ": not a whole number: '" + text + "'");
    if (n < minimum) usage_error(name + " must be >= " + std::to_string(minimum));
    return n;
}

inline float fraction(const std::string& name, const std::string& text) {
    size_t used = 0;
    float x = 0;
    try {
        x = std::stof(text, &used);
    } catch (const std::logic_error&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || !(x >= 0.0f && x <= 1.0f))
        usage_error(name + ": not a number in [0, 1]: '" + text + "'");
    return x;
}

inline Args parse_args(int argc, char** argv) {
    Args a;
    a.options.score_threshold = kDefaultScoreThreshold;
    a.options.masks = yolact::Masks::rle;
    a.options.provider = "auto";
    bool masks_given = false;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string s = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage_error(s + " needs a value");
            return argv[++i];
        };
        if (s == "-h" || s == "--help") {
            std::cout << kUsage;
            std::exit(0);
        } else if (s == "--json") {
            a.json = value();
        } else if (s == "--annotations") {
            a.annotations = value();
        } else if (s == "--overlay") {
            a.overlay = value();
        } else if (s == "--providers") {
            a.options.provider = value();
        } else if (s == "--provider") {
            std::cerr << "yolact-cpp-run: --provider is deprecated: use --providers (the same values)\n";
            a.options.provider = value();
        } else if (s == "--threads") {
            a.options.threads = count(s, value(), 1);
        } else if (s == "--score-threshold") {
            a.options.score_threshold = fraction(s, value());
        } else if (s == "--top-k") {
            a.options.top_k = count(s, value(), 1);
        } else if (s == "--batch") {
            a.batch = static_cast<size_t>(count(s, value(), 1));
        } else if (s == "--masks") {
            const std::string mode = value();
            if (mode != "rle" && mode != "image" && mode != "none") usage_error("--masks must be rle, image or none");
            a.options.masks = yolact::parse_masks(mode);
            masks_given = true;
        } else if (s.size() > 1 && s[0] == '-' && s != "-") {
            usage_error("unknown option " + s);
        } else {
            positional.push_back(s);
        }
    }
    if (positional.size() < 2) usage_error("a model and at least one image are needed");
    if (!a.annotations.empty() && a.json.empty()) usage_error("--annotations sets the image ids of --json: give --json too");
    if (!a.overlay.empty() && !masks_given) a.options.masks = yolact::Masks::image;  // the overlay draws them
    a.model = positional[0];
    a.images.assign(positional.begin() + 1, positional.end());
    return a;
}

}  // namespace cli
