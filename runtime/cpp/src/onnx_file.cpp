// A protobuf reader for the few ONNX fields the runtime checks (onnx.proto: ModelProto.graph = 7,
// .metadata_props = 14; GraphProto.initializer = 5, .input = 11, .output = 12; ValueInfoProto.name
// = 1, .type = 2; TypeProto.tensor_type = 1; Tensor.shape = 2; TensorShapeProto.dim = 1;
// Dimension.dim_value = 1; TensorProto.name = 8; StringStringEntryProto key = 1, value = 2).
// Other fields, the weights among them, are skipped with a seek.
#include "onnx_file.hpp"

#include <fstream>
#include <set>

#include "yolact/yolact.hpp"

namespace yolact::detail {

namespace {

struct BadFile {
    std::string why;
};

class Reader {
public:
    explicit Reader(std::ifstream& in) : in_(in) {}

    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const int c = in_.get();
            if (c == EOF) throw BadFile{"it ends inside a field"};
            v |= static_cast<uint64_t>(c & 0x7f) << shift;
            if (!(c & 0x80)) return v;
        }
        throw BadFile{"a malformed varint"};
    }
    uint64_t pos() { return static_cast<uint64_t>(in_.tellg()); }

    // Calls field(number, wire_type, end_of_value) for each field up to `end`; field must consume
    // the value or return false to have it skipped.
    template <typename Field>
    void fields(uint64_t end, Field field) {
        while (pos() < end) {
            const uint64_t key = varint();
            const int type = static_cast<int>(key & 7);
            uint64_t size = 0;
            if (type == 0) {
                const uint64_t at = pos();
                if (field(key >> 3, type, at)) continue;
                varint();
                continue;
            }
            if (type == 1) size = 8;
            else if (type == 5) size = 4;
            else if (type == 2) size = varint();
            else throw BadFile{"wire type " + std::to_string(type) + " where a field starts"};
            const uint64_t value_end = pos() + size;
            if (value_end > end) throw BadFile{"a field runs past its end"};
            if (!field(key >> 3, type, value_end)) in_.seekg(static_cast<std::streamoff>(value_end));
            if (pos() != value_end) throw BadFile{"a field of the wrong length"};
        }
    }
    std::string bytes(uint64_t end) {
        std::string s(end - pos(), '\0');
        in_.read(&s[0], static_cast<std::streamsize>(s.size()));
        if (!in_) throw BadFile{"it ends inside a string"};
        return s;
    }

private:
    std::ifstream& in_;
};

std::vector<int64_t> shape_of(Reader& r, uint64_t end) {  // TypeProto -> tensor_type.shape.dim
    std::vector<int64_t> shape;
    r.fields(end, [&](uint64_t f, int t, uint64_t e) {
        if (f != 1 || t != 2) return false;
        r.fields(e, [&](uint64_t f2, int t2, uint64_t e2) {
            if (f2 != 2 || t2 != 2) return false;
            r.fields(e2, [&](uint64_t f3, int t3, uint64_t e3) {
                if (f3 != 1 || t3 != 2) return false;
                int64_t dim = -1;
                r.fields(e3, [&](uint64_t f4, int t4, uint64_t) {
                    if (f4 != 1 || t4 != 0) return false;
                    dim = static_cast<int64_t>(r.varint());
                    return true;
                });
                shape.push_back(dim > 0 ? dim : -1);
                return true;
            });
            return true;
        });
        return true;
    });
    return shape;
}

TensorInfo value_info(Reader& r, uint64_t end) {
    TensorInfo info;
    r.fields(end, [&](uint64_t f, int t, uint64_t e) {
        if (t != 2) return false;
        if (f == 1) info.name = r.bytes(e);
        else if (f == 2) info.shape = shape_of(r, e);
        else return false;
        return true;
    });
    return info;
}

std::string string_field(Reader& r, uint64_t end, uint64_t number) {
    std::string s;
    r.fields(end, [&](uint64_t f, int t, uint64_t e) {
        if (f != number || t != 2) return false;
        s = r.bytes(e);
        return true;
    });
    return s;
}

void read_graph(Reader& r, uint64_t end, OnnxFile& file) {
    std::set<std::string> initializers;
    std::vector<TensorInfo> inputs;
    r.fields(end, [&](uint64_t f, int t, uint64_t e) {
        if (t != 2) return false;
        if (f == 5) initializers.insert(string_field(r, e, 8));
        else if (f == 11) inputs.push_back(value_info(r, e));
        else if (f == 12) file.outputs.push_back(value_info(r, e));
        else return false;
        return true;
    });
    for (TensorInfo& input : inputs)
        if (!initializers.count(input.name)) file.inputs.push_back(std::move(input));
}

}  // namespace

OnnxFile read_onnx_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw Error("model file not found or unreadable: " + path);
    const uint64_t size = static_cast<uint64_t>(in.tellg());
    in.seekg(0);
    OnnxFile file;
    Reader r(in);
    bool has_graph = false;
    try {
        r.fields(size, [&](uint64_t f, int t, uint64_t e) {
            if (t != 2) return false;
            if (f == 7) read_graph(r, e, file), has_graph = true;
            else if (f == 14) {
                std::string key, value;
                r.fields(e, [&](uint64_t f2, int t2, uint64_t e2) {
                    if (t2 != 2 || (f2 != 1 && f2 != 2)) return false;
                    (f2 == 1 ? key : value) = r.bytes(e2);
                    return true;
                });
                file.metadata[key] = value;
            } else return false;
            return true;
        });
    } catch (const BadFile& bad) {
        throw Error(path + ": not an ONNX model (" + bad.why + ")");
    }
    if (!has_graph) throw Error(path + ": not an ONNX model (it has no graph)");
    return file;
}

}  // namespace yolact::detail
