// Upsample (bilinear, align_corners=False) and threshold (> 0.5) a soft mask inside the window of the
// output that can pass the threshold: the same float arithmetic as yolact_runtime's core/masks/windows.py,
// so the pixels equal the Python runtime's bit for bit.
#pragma once

#include <opencv2/core.hpp>

#include "resize.hpp"

namespace yolact::detail {

// Where a mask's pixels can be set: output rows [top, top + pixels.rows), columns [left, ...);
// pixels is CV_8U, 255 inside the instance, 0 outside. Empty pixels: no pixel can pass 0.5.
struct MaskWindow {
    int top = 0, left = 0;
    cv::Mat pixels;
};

// The taps of both axes for one frame size (computed once per frame, shared by its masks).
struct FrameTaps {
    int height = 0, width = 0;
    Taps rows, cols;
};

FrameTaps frame_taps(int mask_rows, int mask_cols, int height, int width);

// The window of bilinear(soft, height, width) > 0.5, soft being float32 h x w (continuous rows).
MaskWindow mask_window(const float* soft, int h, int w, const FrameTaps& taps);

}  // namespace yolact::detail
