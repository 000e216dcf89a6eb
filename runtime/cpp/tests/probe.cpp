// yolact-cpp-probe: what tests/test_cpp_masks.py and benchmarks/cpp_vs_python.py need of the
// library that the CLI does not show. Not installed.
//   masks MODE OUT_DIR MODEL IMAGE...    OUT_DIR/<n>.json (detections, RLEs) + <n>.bin (masks, row-major)
//   preprocess MODEL IMAGE OUT.bin       the network input (float32 3 x S x S)
//   sessions MODEL                       "sessions N" (before_session calls), then "ok" or "error: ..."
//   threads MODEL IMAGE...               two threads on one Model agree with one thread: "threads ok"
//   stages MODE RUNS THREADS MODEL IMAGE...  median ms per stage, as JSON
//   select TABLE.json                   the rows select_rows keeps for each case of the shared table
//                                       (tests/data/select_rows_cases.json): one line per case, "i,j,k"
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "json.hpp"         // the library's private headers (the probe is built with src/ on its path)
#include "postprocess.hpp"
#include "yolact/yolact.hpp"

namespace {

std::vector<cv::Mat> read_all(char** first, char** last) {
    std::vector<cv::Mat> images;
    for (char** p = first; p != last; ++p) images.push_back(yolact::read_image(*p));
    return images;
}

std::string escaped(const std::string& rle) {  // RLE strings hold '\\' (no '"': they start at '0')
    std::string out;
    for (char c : rle) out += c == '\\' ? std::string("\\\\") : std::string(1, c);
    return out;
}

std::string describe(const std::vector<yolact::Detection>& dets) {
    std::ostringstream out;
    out.precision(9);
    out << "[";
    for (size_t i = 0; i < dets.size(); ++i) {
        const yolact::Detection& d = dets[i];
        out << (i ? ",\n" : "\n") << "{\"class_id\": " << d.class_id << ", \"score\": " << d.score
            << ", \"mask_score\": " << d.mask_score << ", \"box\": [" << d.box.x1 << ", " << d.box.y1 << ", " << d.box.x2
            << ", " << d.box.y2 << "], \"mask_shape\": [" << d.mask.rows << ", " << d.mask.cols << "], \"rle\": \""
            << escaped(d.rle) << "\"}";
    }
    return out.str() + "]\n";
}

int masks(const std::string& mode, const std::string& dir, char** argv, int argc) {
    yolact::Options options;
    options.masks = yolact::parse_masks(mode);
    yolact::Model model(argv[0], options);
    const std::vector<cv::Mat> images = read_all(argv + 1, argv + argc);
    for (size_t k = 0; k < images.size(); ++k) {
        const std::vector<yolact::Detection> dets = model.predict(images[k]);
        std::ofstream(dir + "/" + std::to_string(k) + ".json") << describe(dets);
        std::ofstream bin(dir + "/" + std::to_string(k) + ".bin", std::ios::binary);
        for (const yolact::Detection& d : dets)
            for (int r = 0; r < d.mask.rows; ++r) bin.write(d.mask.ptr<char>(r), d.mask.cols);
    }
    return 0;
}

int preprocess(const char* model_path, const char* image, const char* out) {
    const cv::Mat blob = yolact::Model(model_path).preprocess(yolact::read_image(image));
    std::ofstream(out, std::ios::binary).write(blob.ptr<char>(), static_cast<std::streamsize>(blob.total() * 4));
    return 0;
}

int sessions(const char* path) {
    int count = 0;
    yolact::Options options;
    options.before_session = [&](const std::string&) { ++count; };
    try {
        yolact::Model model(path, options);
        std::cout << "sessions " << count << "\nok\n";
    } catch (const yolact::Error& e) {
        std::cout << "sessions " << count << "\nerror: " << e.what() << "\n";
    }
    return 0;
}

int threads(char** argv, int argc) {
    yolact::Options options;
    options.masks = yolact::Masks::rle;
    options.threads = 1;
    const yolact::Model model(argv[0], options);
    const std::vector<cv::Mat> images = read_all(argv + 1, argv + argc);
    std::vector<std::string> alone;
    for (const cv::Mat& image : images) alone.push_back(describe(model.predict(image)));
    std::vector<std::string> mismatches[2];
    auto work = [&](int t) {
        for (int pass = 0; pass < 3; ++pass)
            for (size_t i = 0; i < images.size(); ++i) {
                const size_t k = t ? images.size() - 1 - i : i;  // the threads go opposite ways
                if (describe(model.predict(images[k])) != alone[k]) mismatches[t].push_back(argv[1 + k]);
            }
    };
    std::thread a(work, 0), b(work, 1);
    a.join(), b.join();
    for (int t = 0; t < 2; ++t)
        for (const std::string& m : mismatches[t]) std::cout << "thread " << t << " differs on " << m << "\n";
    if (!mismatches[0].empty() || !mismatches[1].empty()) return 1;
    std::cout << "threads ok " << 2 * 3 * images.size() << " predictions\n";
    return 0;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

int stages(const std::string& mode, int runs, int threads, char** argv, int argc) {
    std::map<std::string, std::vector<double>> seconds;
    double current[3] = {0, 0, 0};
    yolact::Options options;
    options.masks = yolact::parse_masks(mode);
    options.threads = threads;
    options.on_stage = [&](const char* stage, double s) {
        const std::string name = stage;
        current[name == "preprocess" ? 0 : name == "engine" ? 1 : 2] += s;
    };
    const yolact::Model model(argv[0], options);
    const std::vector<cv::Mat> images = read_all(argv + 1, argv + argc);
    size_t detections = 0;
    for (int run = -1; run < runs; ++run)  // run -1 warms up
        for (const cv::Mat& image : images) {
            std::fill(current, current + 3, 0.0);
            detections = model.predict(image).size();
            if (run < 0) continue;
            seconds["preprocess"].push_back(current[0]), seconds["engine"].push_back(current[1]);
            seconds["postprocess"].push_back(current[2]);
        }
    std::printf("{\"detections\": %zu", detections);
    for (const auto& [stage, values] : seconds) std::printf(", \"%s_ms\": %.4f", stage.c_str(), 1e3 * median(values));
    std::printf("}\n");
    return 0;
}

std::vector<float> floats(const yolact::detail::Json& array) {
    std::vector<float> out;
    for (const yolact::detail::Json& v : array.array) out.push_back(static_cast<float>(v.number));
    return out;
}

int select_table(const char* table_path) {
    std::ifstream file(table_path);
    std::stringstream text;
    text << file.rdbuf();
    const yolact::detail::Json table = yolact::detail::parse_json(text.str());
    for (const yolact::detail::Json& c : table.find("cases")->array) {
        const std::vector<float> scores = floats(*c.find("box_scores")), mask_scores = floats(*c.find("mask_scores"));
        yolact::detail::RawImage raw;
        raw.count = static_cast<int64_t>(scores.size());
        raw.scores = scores.data();
        raw.mask_scores = c.find("mask_scores")->type == yolact::detail::Json::Null ? nullptr : mask_scores.data();
        const yolact::detail::Json& top_k = *c.find("top_k");
        const std::vector<int> kept = yolact::detail::select_rows(
            raw, static_cast<float>(c.find("threshold")->number),
            top_k.type == yolact::detail::Json::Null ? -1 : static_cast<int>(top_k.number));
        for (size_t i = 0; i < kept.size(); ++i) std::cout << (i ? "," : "") << kept[i];
        std::cout << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string command = argc > 1 ? argv[1] : "";
    try {
        if (command == "masks" && argc >= 5) return masks(argv[2], argv[3], argv + 4, argc - 4);
        if (command == "preprocess" && argc == 5) return preprocess(argv[2], argv[3], argv[4]);
        if (command == "sessions" && argc == 3) return sessions(argv[2]);
        if (command == "select" && argc == 3) return select_table(argv[2]);
        if (command == "threads" && argc >= 4) return threads(argv + 2, argc - 2);
        if (command == "stages" && argc >= 7)
            return stages(argv[2], std::stoi(argv[3]), std::stoi(argv[4]), argv + 5, argc - 5);
    } catch (const std::exception& e) {
        std::cerr << "yolact-cpp-probe: " << e.what() << "\n";
        return 2;
    }
    std::cerr << "usage: see the top of runtime/cpp/tests/probe.cpp\n";
    return 2;
}
