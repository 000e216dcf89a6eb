// Image files read as yolact-run reads them. Is an encoded file complete? cv::imread decodes the
// first half of a JPEG without an error (the rest comes out grey), so each format's end is checked
// before decoding, as the Python runtime does (core/truncation.py: the reasons, the same messages).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <tuple>

#include <opencv2/imgcodecs.hpp>

#include "yolact/yolact.hpp"

namespace yolact {
namespace {

uint64_t read_uint(const std::string& d, size_t at, int bytes, bool little) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
        const uint64_t byte = static_cast<unsigned char>(d[at + (little ? bytes - 1 - i : i)]);
        v = (v << 8) | byte;
    }
    return v;
}

std::string sized(const std::string& d, uint64_t expected, const std::string& field) {
    if (expected && d.size() < expected)
        return "truncated image: " + std::to_string(d.size()) + " of the " + std::to_string(expected) +
               " bytes its " + field + " gives";
    return "";
}

std::string jpeg(const std::string& d) {
    const size_t scan = d.rfind(std::string("\xff\xda", 2));
    if (scan == std::string::npos || d.find(std::string("\xff\xd9", 2), scan) == std::string::npos)
        return "truncated image: the JPEG has no end-of-image marker (FFD9)";
    return "";
}

std::string png(const std::string& d) {
    size_t at = 8;
    while (at + 8 <= d.size()) {
        const uint64_t length = read_uint(d, at, 4, false);
        const bool end = d.compare(at + 4, 4, "IEND") == 0;
        at += 12 + length;  // length, type, data, CRC
        if (end) return at <= d.size() ? "" : "truncated image: the PNG's IEND chunk is cut off";
    }
    return "truncated image: the PNG ends before its IEND chunk";
}

std::string tiff(const std::string& d) {
    const bool le = d[0] == 'I';
    const uint64_t dir = d.size() >= 8 ? read_uint(d, 4, 4, le) : d.size();
    if (dir + 2 > d.size()) return "truncated image: the TIFF's image directory lies past the end of the file";
    const uint64_t count = read_uint(d, dir, 2, le);
    if (dir + 2 + 12 * count + 4 > d.size()) return "truncated image: the TIFF's image directory is cut off";
    static const std::map<uint64_t, uint64_t> type_size = {{1, 1}, {2, 1}, {3, 2},  {4, 4},  {5, 8},  {6, 1}, {7, 1},
                                                           {8, 2}, {9, 4}, {10, 8}, {11, 4}, {12, 8}, {13, 4}};
    std::map<uint64_t, std::tuple<uint64_t, uint64_t, size_t>> entries;  // tag -> type, count, value field
    for (uint64_t i = 0; i < count; ++i) {
        const size_t at = dir + 2 + 12 * i;
        const uint64_t tag = read_uint(d, at, 2, le), type = read_uint(d, at + 2, 2, le);
        const uint64_t n = read_uint(d, at + 4, 4, le);
        const auto size = type_size.find(type);
        const uint64_t bytes = size == type_size.end() ? 0 : size->second * n;
        if (bytes > 4 && read_uint(d, at + 8, 4, le) + bytes > d.size())
            return "truncated image: the TIFF's tag " + std::to_string(tag) + " values lie past the end of the file";
        entries[tag] = {type, n, at + 8};
    }
    auto value = [&](uint64_t tag, uint64_t i) {  // SHORT or LONG element i of an entry (if it fits)
        const auto [type, n, field] = entries[tag];
        const int width = type == 3 ? 2 : 4;
        const size_t base = width * n <= 4 ? field : read_uint(d, field, 4, le);
        return read_uint(d, base + width * i, width, le);
    };
    for (auto [offsets, sizes] : {std::pair<uint64_t, uint64_t>{273, 279}, {324, 325}}) {
        if (!entries.count(offsets) || !entries.count(sizes)) continue;
        const uint64_t to = std::get<0>(entries[offsets]), ts = std::get<0>(entries[sizes]);
        if ((to != 3 && to != 4) || (ts != 3 && ts != 4)) continue;
        uint64_t end = 0;
        for (uint64_t i = 0; i < std::min(std::get<1>(entries[offsets]), std::get<1>(entries[sizes])); ++i)
            end = std::max(end, value(offsets, i) + value(sizes, i));
        if (end > d.size())
            return "truncated image: the TIFF's image data needs " + std::to_string(end) + " bytes, the file has " +
                   std::to_string(d.size());
    }
    return "";
}

}  // namespace

std::string truncation_cause(const std::string& d) {
    if (d.compare(0, 3, "\xff\xd8\xff") == 0) return jpeg(d);
    if (d.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0) return png(d);
    if (d.compare(0, 2, "BM") == 0 && d.size() >= 6) return sized(d, read_uint(d, 2, 4, true), "BMP header");
    if (d.compare(0, 4, "RIFF") == 0 && d.size() >= 12 && d.compare(8, 4, "WEBP") == 0)
        return sized(d, read_uint(d, 4, 4, true) + 8, "WebP RIFF header");
    if (d.compare(0, 4, std::string("II*\0", 4)) == 0 || d.compare(0, 4, std::string("MM\0*", 4)) == 0) return tiff(d);
    return "";
}

cv::Mat read_image(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) throw Error("cannot read image " + path + ": no such file");
    std::ifstream file(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    std::string why = bytes.empty() ? "empty file" : truncation_cause(bytes);
    if (file.bad()) why = "cannot read file";
    if (!why.empty()) throw Error("cannot read image " + path + ": " + why);
    cv::Mat img = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                               cv::IMREAD_COLOR);
    if (img.empty()) throw Error("cannot read image " + path + ": not a readable image");
    return img;
}

}  // namespace yolact
