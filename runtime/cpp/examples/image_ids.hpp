// COCO image ids of yolact-cpp-run's --json: the rule of yolact-run (runtime/yolact_runtime/
// pipeline/image_ids.py, README "COCO image ids"). With a ground truth (--annotations): its id for
// the input's key (path inside the folder given), else for its base name. Without: a numeric file
// stem's number; any other name 2^52 + the low 52 bits of its FNV-1a 64-bit hash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "json.hpp"  // the library's private reader (src/), header-only
#include "yolact/yolact.hpp"

namespace image_ids {

constexpr int64_t kHashedBase = int64_t(1) << 52;

inline uint64_t fnv1a64(const std::string& text) {
    uint64_t value = 0xCBF29CE484222325ull;
    for (unsigned char byte : text) value = (value ^ byte) * 0x100000001B3ull;
    return value;
}

inline int64_t default_id(const std::string& key) {
    const std::string stem = std::filesystem::path(key).stem().string();
    // Python's str.isdigit on ASCII; up to 18 digits fit an int64
    if (!stem.empty() && stem.size() <= 18 && stem.find_first_not_of("0123456789") == std::string::npos)
        return std::stoll(stem);
    return kHashedBase + int64_t(fnv1a64(key) & uint64_t(kHashedBase - 1));
}

struct GroundTruth {
    std::string path;
    std::map<std::string, int64_t> ids;  // file_name -> id, and base name -> id where unique
};

// Throws yolact::Error (one line naming the file) when it is not readable COCO JSON with images.
inline GroundTruth read_ground_truth(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw yolact::Error(path + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    const std::string bad = path + ": not a COCO ground truth (needs \"images\" with \"id\" and \"file_name\")";
    yolact::detail::Json doc;
    try {
        doc = yolact::detail::parse_json(text.str());
    } catch (const std::runtime_error&) {
        throw yolact::Error(bad);
    }
    const yolact::detail::Json* images = doc.find("images");
    if (!images || images->type != yolact::detail::Json::Array) throw yolact::Error(bad);
    GroundTruth truth{path, {}};
    std::map<std::string, int> base_count;
    std::map<std::string, int64_t> by_base;
    for (const yolact::detail::Json& image : images->array) {
        const yolact::detail::Json* id = image.find("id");
        const yolact::detail::Json* name = image.find("file_name");
        if (!id || id->type != yolact::detail::Json::Number || !name || name->type != yolact::detail::Json::String)
            throw yolact::Error(bad);
        truth.ids[name->string] = static_cast<int64_t>(id->number);
        const std::string base = std::filesystem::path(name->string).filename().string();
        base_count[base] += 1, by_base[base] = static_cast<int64_t>(id->number);
    }
    for (const auto& [base, id] : by_base)
        if (base_count[base] == 1) truth.ids.emplace(base, id);  // a listed file_name wins
    return truth;
}

// The input's id, or nothing when the ground truth does not list it.
inline std::optional<int64_t> image_id(const std::string& key, const GroundTruth* truth) {
    if (!truth) return default_id(key);
    for (const std::string& name : {key, std::filesystem::path(key).filename().string()}) {
        auto it = truth->ids.find(name);
        if (it != truth->ids.end()) return it->second;
    }
    return std::nullopt;
}

}  // namespace image_ids
