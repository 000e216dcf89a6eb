// Reads and checks the yolact.* metadata keys written by yolact-export (names in contract.hpp).
#include "metadata.hpp"

#include <cmath>

#include "contract.hpp"
#include "json.hpp"

namespace yolact::detail {

using namespace contract;

namespace {

struct MetaReader {
    const std::map<std::string, std::string>& props;
    std::string path;

    bool get(const char* key, std::string& out) {
        auto found = props.find(key);
        if (found == props.end()) return false;
        out = found->second;
        return true;
    }
    std::string require(const char* key) {
        std::string s;
        if (!get(key, s)) throw Error(path + ": metadata key '" + key + "' is missing");
        return s;
    }
    Json json(const char* key, const std::string& text) {
        try {
            return detail::parse_json(text);
        } catch (const std::exception& e) {
            throw Error(path + ": metadata '" + key + "': " + e.what() + ": " + text);
        }
    }
    [[noreturn]] void bad(const char* key, const std::string& what) {
        throw Error(path + ": metadata '" + key + "': " + what);
    }
    int integer(const char* key, const Json& j) {
        if (j.type != Json::Number || j.number != std::floor(j.number)) bad(key, "expected an integer");
        return static_cast<int>(j.number);
    }
    cv::Scalar triple(const char* key, const Json* j) {
        if (!j || j->type != Json::Array || j->array.size() != 3) bad(key, "expected 3 numbers (BGR)");
        cv::Scalar s;
        for (int c = 0; c < 3; ++c) {
            if (j->array[c].type != Json::Number) bad(key, "expected 3 numbers (BGR)");
            s[c] = j->array[c].number;
        }
        return s;
    }
};

}  // namespace

ModelInfo read_metadata(const std::map<std::string, std::string>& props, const std::string& path) {
    MetaReader r{props, path};
    ModelInfo info;
    std::string s;
    if (!r.get(kKeyContractVersion, s))
        throw Error(path + ": not a yolact-export model (metadata key '" + kKeyContractVersion + "' is "
                           "missing); export it with yolact-export");
    info.contract_version = r.integer(kKeyContractVersion, r.json(kKeyContractVersion, s));
    if (info.contract_version != kContractVersion)
        throw Error(path + ": ONNX contract version " + std::to_string(info.contract_version) +
                    " is not supported (this runtime reads version " + std::to_string(kContractVersion) + ")");
    r.get(kKeyExporterVersion, info.exporter_version);
    r.get(kKeyConfig, info.config);

    Json names = r.json(kKeyClassNames, r.require(kKeyClassNames));
    if (names.type != Json::Array || names.array.empty()) r.bad(kKeyClassNames, "expected a list of names");
    for (const Json& n : names.array) {
        if (n.type != Json::String) r.bad(kKeyClassNames, "expected a list of strings");
        info.class_names.push_back(n.string);
    }
    if (r.get(kKeyCategoryIds, s)) {
        Json ids = r.json(kKeyCategoryIds, s);
        if (ids.type == Json::Array) {
            for (const Json& n : ids.array) info.category_ids.push_back(r.integer(kKeyCategoryIds, n));
            if (info.category_ids.size() != info.class_names.size())
                r.bad(kKeyCategoryIds, "one id per class name expected");
        } else if (ids.type != Json::Null) {
            r.bad(kKeyCategoryIds, "expected a list of integers or null");
        }
    }
    info.input_size = r.integer(kKeyInputSize, r.json(kKeyInputSize, r.require(kKeyInputSize)));
    if (info.input_size <= 0) r.bad(kKeyInputSize, "must be positive");

    Json pre = r.json(kKeyPreprocess, r.require(kKeyPreprocess));
    if (pre.type != Json::Object) r.bad(kKeyPreprocess, "expected an object");
    const Json* t = pre.find("transform");
    info.transform = (t && t->type == Json::String) ? t->string : "";
    if (info.transform == "normalize") {
        info.mean_bgr = r.triple("yolact.preprocess mean_bgr", pre.find("mean_bgr"));
        info.std_bgr = r.triple("yolact.preprocess std_bgr", pre.find("std_bgr"));
    } else if (info.transform != "to_float") {
        r.bad(kKeyPreprocess, "transform '" + info.transform + "' is not one of normalize, to_float");
    }
    if (const Json* order = pre.find("channel_order")) {
        if (order->type != Json::String || (order->string != "RGB" && order->string != "BGR"))
            r.bad(kKeyPreprocess, "channel_order must be RGB or BGR");
        info.rgb = order->string == "RGB";
    }
    if (const Json* rs = pre.find("resize"))
        if (rs->type != Json::String || rs->string != "bilinear")
            r.bad(kKeyPreprocess, "resize must be bilinear");

    r.get(kKeyNms, info.nms_json);
    if (r.get(kKeyMaskDim, s)) info.mask_dim = r.integer(kKeyMaskDim, r.json(kKeyMaskDim, s));
    return info;
}

}  // namespace yolact::detail
