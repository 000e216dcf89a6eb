// The ONNX output contract, as the browser reads it. The one definition is
// runtime/yolact_runtime/contract.py; this copy of its names and checks is held to it by
// tests/test_web_runtime.py (as runtime/cpp/src/contract.hpp is by tests/test_contract_names.py).
import { readMetadataProps, WireError } from "./onnx_props.js";

export const CONTRACT_VERSION = 1;
export const INPUT = "images";
export const REQUIRED_OUTPUTS = ["boxes", "scores", "classes", "coefficients", "prototypes", "num_detections"];
export const OPTIONAL_OUTPUTS = ["masks", "mask_scores"];

const KEY = {
  contractVersion: "yolact.contract_version",
  classNames: "yolact.class_names",
  categoryIds: "yolact.category_ids",
  inputSize: "yolact.input_size",
  preprocess: "yolact.preprocess",
  outputs: "yolact.outputs",
  config: "yolact.config",
  precision: "yolact.precision",
};
export const METADATA_KEYS = Object.values(KEY);

const PREPROCESS_DEFAULTS = {
  transform: "normalize", mean_bgr: [103.94, 116.78, 123.68], std_bgr: [57.38, 57.12, 58.40],
  channel_order: "RGB", resize: "bilinear",
};

/** A model or input the runtime refuses; `message` is one line that names the file and the cause. */
export class YolactError extends Error {
  constructor(message) {
    super(message);
    this.name = "YolactError";
  }
}

/** The model info ({classNames, categoryIds, inputSize, preprocess, outputs, config, precision}) of ONNX bytes. */
export function readModelInfo(buffer, source = "model") {
  let props;
  try {
    props = readMetadataProps(buffer);
  } catch (error) {
    if (error instanceof WireError) throw new YolactError(`${source}: not an ONNX model (${error.message})`);
    throw error;
  }
  return parseMetadata(props, source);
}

export function parseMetadata(props, source = "model") {
  if (!props.has(KEY.contractVersion)) {
    throw new YolactError(`${source}: not a yolact-export model (metadata key '${KEY.contractVersion}'`
      + " is missing); export it with yolact-export");
  }
  const version = integer(json(props, KEY.contractVersion, source), KEY.contractVersion, source);
  if (version !== CONTRACT_VERSION) {
    throw new YolactError(`${source}: ONNX contract version ${version} is not supported by this runtime`
      + ` (it reads version ${CONTRACT_VERSION})`);
  }
  const classNames = json(props, KEY.classNames, source);
  if (!Array.isArray(classNames) || !classNames.length || !classNames.every((n) => typeof n === "string")) {
    throw new YolactError(`${source}: metadata key '${KEY.classNames}' must be a non-empty list of strings`);
  }
  const outputs = json(props, KEY.outputs, source);
  if (!Array.isArray(outputs) || !outputs.every((n) => typeof n === "string")) {
    throw new YolactError(`${source}: metadata key '${KEY.outputs}' must be a list of output names`);
  }
  const missing = REQUIRED_OUTPUTS.filter((name) => !outputs.includes(name));
  if (missing.length) throw new YolactError(`${source}: metadata key '${KEY.outputs}' lacks required outputs ${missing}`);
  const inputSize = integer(json(props, KEY.inputSize, source), KEY.inputSize, source);
  if (inputSize <= 0) throw new YolactError(`${source}: metadata key '${KEY.inputSize}' must be positive, got ${inputSize}`);
  return {
    contractVersion: version,
    classNames,
    categoryIds: categoryIds(props, classNames.length, source),
    inputSize,
    preprocess: preprocessSpec(json(props, KEY.preprocess, source), source),
    outputs,
    config: props.get(KEY.config) ?? "",
    precision: props.get(KEY.precision) ?? "fp32",
  };
}

function json(props, key, source) {
  if (!props.has(key)) throw new YolactError(`${source}: metadata key '${key}' is missing`);
  try {
    return JSON.parse(props.get(key));
  } catch (error) {
    throw new YolactError(`${source}: metadata key '${key}' is not valid JSON (${error.message})`);
  }
}

function integer(value, key, source) {
  const number = typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : value;
  if (!Number.isInteger(number)) throw new YolactError(`${source}: metadata key '${key}' must be an integer, got ${JSON.stringify(value)}`);
  return number;
}

function categoryIds(props, count, source) {
  const value = props.has(KEY.categoryIds) ? json(props, KEY.categoryIds, source) : null;
  if (value === null) return null;
  if (!Array.isArray(value) || value.length !== count) {
    throw new YolactError(`${source}: metadata key '${KEY.categoryIds}' must be null or a list of ${count} integers`);
  }
  return value.map((id) => integer(id, KEY.categoryIds, source));
}

function preprocessSpec(value, source) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new YolactError(`${source}: metadata key '${KEY.preprocess}' must be a JSON object`);
  }
  const spec = { ...PREPROCESS_DEFAULTS, ...value };
  const allowed = { transform: ["normalize", "to_float"], resize: ["bilinear"], channel_order: ["RGB", "BGR"] };
  for (const [name, choices] of Object.entries(allowed)) {
    if (!choices.includes(spec[name])) {
      throw new YolactError(`${source}: preprocess ${name} ${JSON.stringify(spec[name])} is not supported`
        + ` (expected one of ${JSON.stringify(choices)})`);
    }
  }
  for (const name of ["mean_bgr", "std_bgr"]) {
    const triple = spec[name];
    if (!Array.isArray(triple) || triple.length !== 3 || !triple.every((v) => typeof v === "number")) {
      throw new YolactError(`${source}: preprocess ${name} must be a list of 3 numbers, got ${JSON.stringify(triple)}`);
    }
  }
  if (spec.std_bgr.includes(0)) throw new YolactError(`${source}: preprocess std_bgr must not contain zeros`);
  return spec;
}
