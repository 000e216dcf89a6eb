// The ONNX contract's names: the C++ copy of runtime/yolact_runtime/contract.py (C++ cannot import
// it; tests/test_contract_names.py checks that every name here equals the Python module's).
#pragma once

namespace yolact {
namespace contract {

constexpr int kContractVersion = 1;

constexpr const char* kBoxes = "boxes";
constexpr const char* kScores = "scores";
constexpr const char* kClasses = "classes";
constexpr const char* kCoefficients = "coefficients";
constexpr const char* kPrototypes = "prototypes";
constexpr const char* kNumDetections = "num_detections";
constexpr const char* kMasks = "masks";
constexpr const char* kMaskScores = "mask_scores";

constexpr const char* kKeyContractVersion = "yolact.contract_version";
constexpr const char* kKeyExporterVersion = "yolact.exporter_version";
constexpr const char* kKeyConfig = "yolact.config";
constexpr const char* kKeyClassNames = "yolact.class_names";
constexpr const char* kKeyCategoryIds = "yolact.category_ids";
constexpr const char* kKeyInputSize = "yolact.input_size";
constexpr const char* kKeyPreprocess = "yolact.preprocess";
constexpr const char* kKeyNms = "yolact.nms";
constexpr const char* kKeyMaskDim = "yolact.mask_dim";

}  // namespace contract
}  // namespace yolact
