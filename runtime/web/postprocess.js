// Padded detections -> detections in image pixels, as runtime/yolact_runtime/core/postprocess.py:
// select rows (box score > threshold when one is set, ranked by the mask score for YOLACT++, stable,
// top_k), M = sigmoid(P C^T) inside each box padded by one prototype pixel (zero outside), bilinear
// upsample inside the mask's window, threshold > 0.5; boxes scaled, ordered, clamped, truncated.
import { taps } from "./resize.js";
import { paintWindow } from "./window.js";

const f32 = Math.fround;

/** Indices of the rows to keep, in output order (postprocess.py select_rows). */
export function selectRows(scores, ranking, count, threshold = 0, topK = null) {
  const kept = [];
  for (let i = 0; i < count; i++) if (!(threshold > 0) || scores[i] > threshold) kept.push(i);
  kept.sort((a, b) => ranking[b] - ranking[a]);  // Array.prototype.sort is stable
  return topK === null || topK === undefined ? kept : kept.slice(0, topK);
}

/** Relative x1 y1 x2 y2 (float32) -> integer pixels: scale, order, clamp to the image, truncate. */
export function boxToPixels(box, width, height) {
  const xa = f32(box[0] * f32(width)), xb = f32(box[2] * f32(width));
  const ya = f32(box[1] * f32(height)), yb = f32(box[3] * f32(height));
  const clamp = (v, hi) => Math.trunc(Math.min(Math.max(v, 0), hi));
  return [clamp(Math.min(xa, xb), width), clamp(Math.min(ya, yb), height),
    clamp(Math.max(xa, xb), width), clamp(Math.max(ya, yb), height)];
}

/** The padded crop at prototype resolution as integer [start, stop) (postprocess.py crop_ranges). */
function cropRange(lo, hi, size) {
  const a = f32(lo * size), b = f32(hi * size);
  const start = Math.max(f32(Math.min(a, b) - 1), 0);
  const stop = Math.min(f32(Math.max(a, b) + 1), size);
  return [Math.ceil(start), Math.ceil(stop)];
}

/** sigmoid(P C^T) for the kept rows as Float32Array [n, h, w], computed inside the padded boxes only. */
export function assembleMasks(prototypes, h, w, k, coefficients, boxes, rows) {
  const soft = new Float32Array(rows.length * h * w);
  rows.forEach((row, i) => {
    const [top, bottom] = cropRange(boxes[row * 4 + 1], boxes[row * 4 + 3], h);
    const [left, right] = cropRange(boxes[row * 4], boxes[row * 4 + 2], w);
    const coefs = coefficients.subarray(row * k, row * k + k);
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        const p = (y * w + x) * k;
        let logit = 0;
        for (let j = 0; j < k; j++) logit += prototypes[p + j] * coefs[j];
        soft[(i * h + y) * w + x] = f32(1 / (1 + Math.exp(-f32(logit))));
      }
    }
  });
  return soft;
}

/** The precomputed soft masks of the `masks` output ([D, h, w], sigmoid and crop applied) for the kept rows. */
function pickMasks(masks, h, w, rows) {
  const soft = new Float32Array(rows.length * h * w);
  rows.forEach((row, i) => soft.set(masks.subarray(row * h * w, (row + 1) * h * w), i * h * w));
  return soft;
}

/**
 * One image's raw outputs (typed arrays of batch item 0, see yolact.js) -> detections.
 * options: {scoreThreshold, topK, masks: true | false}.
 */
export function postprocess(raw, width, height, info, options = {}) {
  const { boxes, scores, classes, maskScores } = raw;
  const count = Math.max(0, Math.min(raw.numDetections, scores.length));
  const rows = selectRows(scores, maskScores ?? scores, count, options.scoreThreshold ?? 0, options.topK ?? null);
  let soft = null, xs = null, ys = null;
  const [h, w, k] = raw.protoShape;
  if (options.masks !== false) {
    soft = raw.masks ? pickMasks(raw.masks, h, w, rows) : assembleMasks(raw.prototypes, h, w, k, raw.coefficients, boxes, rows);
    xs = taps(w, width);
    ys = taps(h, height);
  }
  return rows.map((row, i) => {
    const classId = Number(classes[row]);
    const inTable = info.categoryIds && classId >= 0 && classId < info.categoryIds.length;
    const detection = {
      classId,
      className: classId >= 0 && classId < info.classNames.length ? info.classNames[classId] : `class_${classId}`,
      categoryId: inTable ? info.categoryIds[classId] : classId + 1,
      score: maskScores ? maskScores[row] : scores[row],
      box: boxToPixels(boxes.subarray(row * 4, row * 4 + 4), width, height),
    };
    if (maskScores) detection.boxScore = scores[row];
    if (soft) {
      detection.mask = new Uint8Array(width * height);
      detection.window = paintWindow(soft, i, h, w, xs, ys, detection.mask);
    }
    return detection;
  });
}
