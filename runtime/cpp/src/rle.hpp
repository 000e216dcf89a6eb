// COCO RLE (column-major runs, zeros first; the compressed string of pycocotools' rleToString):
// from a mask that is zero outside one window (as core/masks/rle.py, for the window's cost), or dense.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "window.hpp"

namespace yolact::detail {

// Run lengths of a height x width mask that is window.pixels at (top, left) and 0 elsewhere.
std::vector<uint32_t> window_counts(const MaskWindow& window, int height, int width);

// pycocotools' compressed counts string of run lengths.
std::string compress_counts(const std::vector<uint32_t>& counts);

}  // namespace yolact::detail
