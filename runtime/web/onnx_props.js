// The metadata_props of an ONNX file, read from its bytes. ONNX Runtime Web exposes only input and
// output metadata (InferenceSession.inputMetadata / outputMetadata), not the model's custom
// metadata, so the protobuf is walked here as runtime/yolact_runtime/core/onnx_props.py does:
// ModelProto field 14 is a repeated StringStringEntryProto {key = 1, value = 2}; every other
// top-level field (the graph included) is skipped by its length.

const METADATA_PROPS = 14;
const VARINT = 0, FIXED64 = 1, LENGTH = 2, FIXED32 = 5;

export class WireError extends Error {}

/** The varint at bytes[at]: [value, next offset]. Numbers stay exact up to 2**53 (lengths, tags). */
function varint(bytes, at) {
  let value = 0, scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    value += (bytes[i] & 0x7f) * scale;
    if (bytes[i] < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new WireError(at + 10 <= bytes.length ? "varint too long" : "truncated varint");
}

function entry(bytes, utf8) {
  const fields = { 1: "", 2: "" };
  let at = 0;
  while (at < bytes.length) {
    let tag, size;
    [tag, at] = varint(bytes, at);
    if ((tag & 7) !== LENGTH) throw new WireError("unexpected wire type in a metadata entry");
    [size, at] = varint(bytes, at);
    if (at + size > bytes.length) throw new WireError("truncated metadata entry");
    fields[tag >>> 3] = utf8.decode(bytes.subarray(at, at + size));
    at += size;
  }
  return [fields[1], fields[2]];
}

/** metadata_props of the ONNX model in `buffer` (ArrayBuffer or Uint8Array) as a Map; WireError when not protobuf. */
export function readMetadataProps(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const props = new Map();
  let at = 0;
  while (at < bytes.length) {
    let tag, size;
    [tag, at] = varint(bytes, at);
    const field = Math.floor(tag / 8), wire = tag % 8;
    if (field === 0) throw new WireError("field number 0");
    if (wire === VARINT) [, at] = varint(bytes, at);
    else if (wire === FIXED64) at += 8;
    else if (wire === FIXED32) at += 4;
    else if (wire === LENGTH) {
      [size, at] = varint(bytes, at);
      if (at + size > bytes.length) throw new WireError("truncated field");
      if (field === METADATA_PROPS) {
        try {
          const [key, value] = entry(bytes.subarray(at, at + size), utf8);
          props.set(key, value);
        } catch (error) {
          throw error instanceof TypeError ? new WireError("metadata is not UTF-8") : error;
        }
      }
      at += size;
    } else throw new WireError(`unsupported wire type ${wire}`);
    if (at > bytes.length) throw new WireError("truncated field");
  }
  return props;
}
