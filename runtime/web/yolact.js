// YOLACT / YOLACT++ in the browser: a model exported by yolact-export, over ONNX Runtime Web.
// preprocess -> one InferenceSession run (decoding and Fast NMS are in the graph) -> postprocess.
//
//   const model = await Yolact.load("yolact_shapes.onnx");        // a URL, ArrayBuffer, Uint8Array or Blob
//   const image = await decodeImage(file);                        // ImageData (or pass any ImageData)
//   const { detections, timings } = await model.predict(image, { scoreThreshold: 0.3 });
//   for (const d of detections) console.log(d.className, d.score, d.box, d.mask);
//   console.log(model.provider);                                   // {name: "webgpu" | "wasm", threads}
// ONNX Runtime Web comes as two builds: "onnxruntime-web/webgpu" (WebGPU, with wasm for what it lacks)
// and "onnxruntime-web/wasm" (CPU only, several times faster on CPU than the WebGPU build's wasm),
// imported by name (an import map or a bundler resolves them) once the provider is chosen.
import { INPUT, OPTIONAL_OUTPUTS, REQUIRED_OUTPUTS, YolactError, readModelInfo } from "./metadata.js";
import { postprocess } from "./postprocess.js";
import { preprocess } from "./preprocess.js";

export { YolactError } from "./metadata.js";

export class Yolact {
  constructor(ort, session, info, provider, name) {
    this.ort = ort;
    this.session = session;
    this.info = info;
    this.provider = provider;
    this.name = name;
    this.outputNames = [...REQUIRED_OUTPUTS, ...OPTIONAL_OUTPUTS].filter((n) => session.outputNames.includes(n));
    const shape = session.inputMetadata?.[0]?.shape ?? [];
    this.batch = Number.isInteger(shape[0]) && shape[0] > 0 ? shape[0] : 1;
  }

  /**
   * Open a model. The yolact metadata is read from the file's own bytes before any session is built,
   * so a file without it is refused in one YolactError. options.provider: "auto" (WebGPU where the
   * browser has an adapter, else wasm) | "webgpu" | "wasm"; options.threads: wasm threads (ONNX Runtime
   * Web's default: half the cores, at most 4; one without cross-origin isolation; set before the
   * first session of the page); options.name names the file in messages.
   */
  static async load(source, options = {}) {
    const name = options.name ?? sourceName(source);
    const bytes = await readBytes(source, name);
    const info = readModelInfo(bytes, name);
    const { ort, session, provider } = await openSession(bytes, options.provider ?? "auto", options.threads, name);
    const missing = REQUIRED_OUTPUTS.filter((n) => !session.outputNames.includes(n));
    if (session.inputNames.length !== 1 || session.inputNames[0] !== INPUT) {
      throw new YolactError(`${name}: expected one input named '${INPUT}', found ${JSON.stringify(session.inputNames)}`);
    }
    if (missing.length) throw new YolactError(`${name}: the graph lacks required outputs ${JSON.stringify(missing)}`);
    return new Yolact(ort, session, info, provider, name);
  }

  get classNames() {
    return this.info.classNames;
  }

  /**
   * Detections of one image ({data: RGBA bytes, width, height}, as ImageData), best first, and the
   * milliseconds of each stage. options: {scoreThreshold (box score, 0 keeps every valid row),
   * topK, masks (false: boxes only)}.
   */
  async predict(image, options = {}) {
    const size = this.info.inputSize;
    const start = performance.now();
    const tensor = preprocess(image, this.info.preprocess, size);
    const input = new Float32Array(this.batch * tensor.length);
    input.set(tensor);  // a fixed-batch graph gets zero images after ours
    const preprocessed = performance.now();
    const feeds = { [INPUT]: new this.ort.Tensor("float32", input, [this.batch, 3, size, size]) };
    const outputs = await this.session.run(feeds, this.outputNames);
    const inferred = performance.now();
    const detections = postprocess(firstImage(outputs), image.width, image.height, this.info, options);
    const done = performance.now();
    for (const output of Object.values(outputs)) output.dispose?.();
    return {
      detections,
      timings: { preprocess: preprocessed - start, inference: inferred - preprocessed, postprocess: done - inferred },
    };
  }

  async release() {
    await this.session.release();
  }
}

/** ImageData of an encoded image (a Blob, File, ArrayBuffer or Uint8Array); YolactError when it cannot be decoded. */
export async function decodeImage(source, name = sourceName(source)) {
  const blob = source instanceof Blob ? source : new Blob([source]);
  let bitmap;
  try {
    // no colour management, no premultiplied alpha: the file's own pixels, as cv2.imdecode gives them
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new YolactError(`${name}: cannot decode image (corrupt or unsupported format)`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

/** Batch item 0 of the session's outputs as plain typed arrays. */
function firstImage(outputs) {
  const item = (name) => {
    const tensor = outputs[name];
    if (!tensor) return null;
    const per = tensor.data.length / tensor.dims[0];
    return tensor.data.subarray(0, per);
  };
  return {
    boxes: item("boxes"),
    scores: item("scores"),
    classes: item("classes"),
    coefficients: item("coefficients"),
    prototypes: item("prototypes"),
    protoShape: outputs.prototypes.dims.slice(1),
    numDetections: Number(outputs.num_detections.data[0]),
    masks: item("masks"),
    maskScores: item("mask_scores"),
  };
}

async function openSession(bytes, wanted, threads, name) {
  const webgpu = wanted !== "wasm" && (await hasWebGPU());
  if (wanted === "webgpu" && !webgpu) throw new YolactError(`${name}: WebGPU was asked for, but this browser has no WebGPU adapter`);
  if (webgpu) {
    try {
      const ort = await import("onnxruntime-web/webgpu");
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ["webgpu"] });
      return { ort, session, provider: { name: "webgpu" } };
    } catch (error) {
      if (wanted === "webgpu") throw new YolactError(`${name}: WebGPU session failed (${error.message})`);
    }
  }
  const ort = await import("onnxruntime-web/wasm");
  if (threads) ort.env.wasm.numThreads = threads;
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  } catch (error) {
    throw new YolactError(`${name}: ONNX Runtime Web cannot open the model (${String(error.message ?? error).split("\n")[0]})`);
  }
  // threads need cross-origin isolation (SharedArrayBuffer); without it ONNX Runtime Web runs one
  const used = globalThis.crossOriginIsolated ? ort.env.wasm.numThreads : 1;
  return { ort, session, provider: { name: "wasm", threads: used, simd: true } };
}

async function hasWebGPU() {
  if (typeof navigator === "undefined" || !navigator.gpu) return false;
  try {
    return (await navigator.gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

async function readBytes(source, name) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  let response;
  try {
    response = await fetch(source);
  } catch (error) {
    throw new YolactError(`${name}: cannot fetch the model (${error.message})`);
  }
  if (!response.ok) throw new YolactError(`${name}: cannot fetch the model (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
}

function sourceName(source) {
  if (typeof source === "string" || source instanceof URL) return String(source).split("/").pop() || String(source);
  return source?.name ?? "image";
}
