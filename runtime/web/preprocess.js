// Image -> `images` tensor, as runtime/yolact_runtime/core/preprocess.py (the original FastBaseTransform):
// pixels -> float32 -> bilinear resize to S x S (no aspect ratio kept) -> `normalize` ((x - mean_bgr) /
// std_bgr, in float32) or `to_float` (x / 255) -> RGB or BGR planes (CHW).
import { bilinear } from "./resize.js";

const f32 = Math.fround;
const BGR_OF_RGBA = [2, 1, 0];  // RGBA byte offset of B, G and R

/** RGBA pixels ({data, width, height}, as ImageData) -> Float32Array [3, size, size]. */
export function preprocess(image, spec, size) {
  const resized = bilinear(image.data, image.height, image.width, 4, size, size);
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const normalize = spec.transform === "normalize";
  for (let bgr = 0; bgr < 3; bgr++) {
    const mean = f32(spec.mean_bgr[bgr]), std = f32(spec.std_bgr[bgr]);
    const target = (spec.channel_order === "RGB" ? 2 - bgr : bgr) * plane;
    const source = BGR_OF_RGBA[bgr];
    for (let i = 0; i < plane; i++) {
      const x = resized[i * 4 + source];
      out[target + i] = normalize ? f32(f32(x - mean) / std) : f32(x / 255);
    }
  }
  return out;
}
