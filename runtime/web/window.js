// Upsample + threshold one soft mask inside its window only, as runtime/yolact_runtime/core/window.py:
// an upsampled pixel is a convex mix of its source taps, so it can pass 0.5 only where a tap
// (almost) does; the window is every output pixel whose taps reach such a source pixel, and the
// pixels inside it are exactly those of a whole-frame bilinear resize thresholded at 0.5.
import { acrossRows, lerpRows } from "./resize.js";

const HOT = Math.fround(0.5 - 1e-4);

/** [first, one past last] index along one axis of a [h, w] plane where any value is hot, or null. */
function hotExtent(soft, offset, h, w, alongRows) {
  let first = -1, last = -1;
  const outer = alongRows ? h : w, inner = alongRows ? w : h;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      const at = alongRows ? offset + i * w + j : offset + j * w + i;
      if (soft[at] > HOT) {
        if (first < 0) first = i;
        last = i + 1;
        break;
      }
    }
  }
  return first < 0 ? null : [first, last];
}

/** Output pixels [start, stop) whose taps (first, first + 1 when weighted) read a source pixel in [lo, hi). */
function span(taps, [lo, hi]) {
  const n = taps.first.length;
  let start = 0, stop = 0;
  while (start < n && taps.first[start] + (taps.weight[start] > 0 ? 1 : 0) < lo) start++;
  while (stop < n && taps.first[stop] < hi) stop++;
  return [start, stop];
}

/**
 * Mask `index` of soft [n, h, w] masks, upsampled to height x width and thresholded > 0.5, painted
 * into `out` (Uint8Array height * width, zero); returns its window {top, left, bottom, right} or null.
 * xs / ys are taps(w, width) / taps(h, height).
 */
export function paintWindow(soft, index, h, w, xs, ys, out) {
  const offset = index * h * w;
  const rowsHot = hotExtent(soft, offset, h, w, true);
  if (rowsHot === null) return null;
  const [top, bottom] = span(ys, rowsHot);
  const [left, right] = span(xs, hotExtent(soft, offset, h, w, false));
  if (bottom <= top || right <= left) return null;  // downscaling: no output pixel reads a hot one
  const width = xs.first.length, cols = right - left;
  const r0 = ys.first[top], r1 = Math.min(ys.first[bottom - 1] + 2, h);
  const plane = soft.subarray(offset, offset + h * w);
  const across = acrossRows(plane, w, 1, r0, r1, xs, left, right);
  const row = new Float32Array(cols);
  for (let y = top; y < bottom; y++) {
    lerpRows(across, cols, ys.first[y] - r0, ys.weight[y], row, 0);
    const at = y * width + left;
    for (let x = 0; x < cols; x++) out[at + x] = row[x] > 0.5 ? 1 : 0;
  }
  return { top, left, bottom, right };
}
