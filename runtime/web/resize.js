// Bilinear resize, align_corners=False, no antialiasing: the contract's resize, rounded step by step
// as runtime/yolact_runtime/core/window.py writes out cv2.resize(INTER_LINEAR) on float32 (and so
// as the Python runtime's preprocess gets it): half-pixel centres, clamped borders, rows first,
// then columns, each step a + float32(b - a) * t with t a float32 weight, summed in float64 (the
// product of two float32 is exact there) and rounded to float32.

const f32 = Math.fround;

/** For each of `large` output pixels: [first source tap, its float32 weight], as window.py `taps`. */
export function taps(small, large) {
  const first = new Int32Array(large);
  const weight = new Float64Array(large);
  const step = 1.0 / (large / small);
  for (let o = 0; o < large; o++) {
    const position = (o + 0.5) * step - 0.5;
    const lo = Math.floor(position);
    const clamped = lo < 0 || lo >= small - 1;
    first[o] = Math.min(Math.max(lo, 0), small - 1);
    weight[o] = clamped ? 0 : f32(position - lo);
  }
  return { first, weight };
}

/** Interleaved float rows [height, width, channels] (any numeric array) -> Float32Array [outH, outW, channels]. */
export function bilinear(src, height, width, channels, outH, outW) {
  const xs = taps(width, outW), ys = taps(height, outH);
  const rowLength = outW * channels;
  const across = acrossRows(src, width, channels, 0, height, xs, 0, outW);
  const out = new Float32Array(outH * rowLength);
  for (let o = 0; o < outH; o++) {
    lerpRows(across, rowLength, ys.first[o], ys.weight[o], out, o * rowLength);
  }
  return out;
}

/**
 * Rows first: source rows [r0, r1) resampled to output columns [c0, c1), as a Float32Array
 * [(r1 - r0), (c1 - c0), channels].
 */
export function acrossRows(src, width, channels, r0, r1, xs, c0, c1) {
  const cols = c1 - c0;
  const out = new Float32Array((r1 - r0) * cols * channels);
  let at = 0;
  for (let r = r0; r < r1; r++) {
    const row = r * width * channels;
    for (let c = c0; c < c1; c++) {
      const a = row + xs.first[c] * channels, t = xs.weight[c];
      for (let k = 0; k < channels; k++, at++) {
        const left = src[a + k];
        out[at] = t === 0 ? left : f32(left + f32(src[a + channels + k] - left) * t);
      }
    }
  }
  return out;
}

/** Then columns: out[at .. at + length) = rows[lo] + float32(rows[lo + 1] - rows[lo]) * t, rounded to float32. */
export function lerpRows(rows, length, lo, t, out, at) {
  const top = lo * length;
  for (let i = 0; i < length; i++) {
    const a = rows[top + i];
    out[at + i] = t === 0 ? a : f32(a + f32(rows[top + length + i] - a) * t);
  }
}
