// The demo page: open the shapes model exported by `make demo` (or ?model=URL, or a dropped .onnx),
// segment a picked or dropped image, draw masks, boxes, class names and scores, and time each stage.
// Every failure is one line in #message (never the console). window.demo holds the last run.
import { Yolact, YolactError, decodeImage } from "../../runtime/web/yolact.js";
import { drawDetections } from "./draw.js";

const DEFAULT_MODEL = "../../demo_out/yolact_shapes.onnx";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);  // ?model=URL, ?threads=N (wasm)
const state = { model: null, runs: 0, last: null, image: null, busy: Promise.resolve() };
window.demo = state;

function say(text) {
  $("message").textContent = text;
}

function fail(error) {
  say(error instanceof YolactError ? error.message : `unexpected error: ${error?.message ?? error}`);
}

async function openModel(source, name) {
  say("");
  $("model-line").textContent = `loading ${name}…`;
  try {
    await state.model?.release();
  } catch { /* the old session is gone either way */ }
  state.model = null;
  try {
    const model = await Yolact.load(source, { name, threads: Number(params.get("threads")) || undefined });
    const p = model.provider;
    const engine = p.name === "wasm" ? `wasm (SIMD, ${p.threads} thread${p.threads === 1 ? "" : "s"})` : p.name;
    $("model-line").textContent = `${name}: ${model.info.config || "model"} at ${model.info.inputSize} px, `
      + `${model.classNames.length} classes, on ${engine}`;
    state.model = model;
  } catch (error) {
    $("model-line").textContent = `no model open`;
    if (error instanceof YolactError && DEFAULT_MODEL.endsWith(name) && /HTTP 404/.test(error.message)) {
      say(`${name}: not found; run \`make demo\` first (it exports demo_out/yolact_shapes.onnx)`);
    } else fail(error);
  }
}

async function segment(file) {
  say("");
  if (!state.model) return say(`${file.name}: no model is open`);
  try {
    const t0 = performance.now();
    const image = await decodeImage(file, file.name);
    const decode = performance.now() - t0;
    const threshold = Number($("threshold").value) || 0;
    const { detections, timings } = await state.model.predict(image, { scoreThreshold: threshold });
    const t1 = performance.now();
    drawDetections($("canvas"), image, detections);
    const draw = performance.now() - t1;
    const ms = { decode, ...timings, draw };
    $("timings").textContent = `${file.name} ${image.width}×${image.height}: ${detections.length} detections`
      + ` (box score > ${threshold}) · ` + Object.entries(ms).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(" · ");
    $("detections").replaceChildren(...detections.map((d) => {
      const item = document.createElement("li");
      item.textContent = `${d.className} ${d.score.toFixed(3)} [${d.box.join(", ")}]`;
      return item;
    }));
    state.image = image;
    state.last = { name: file.name, width: image.width, height: image.height, detections, timings: ms };
  } catch (error) {
    fail(error);
  } finally {
    state.runs += 1;
  }
}

// one thing at a time: a second file waits for the run before it
function queue(task) {
  state.busy = state.busy.then(task);
  return state.busy;
}

function take(file) {
  if (!file) return;
  if (file.name.toLowerCase().endsWith(".onnx")) queue(() => openModel(file, file.name).finally(() => { state.runs += 1; }));
  else queue(() => segment(file));
}

$("image-file").addEventListener("change", (event) => { [...event.target.files].forEach(take); event.target.value = ""; });
$("model-file").addEventListener("change", (event) => { take(event.target.files[0]); event.target.value = ""; });
document.addEventListener("dragover", (event) => { event.preventDefault(); document.body.classList.add("dragging"); });
document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
document.addEventListener("drop", (event) => {
  event.preventDefault();
  document.body.classList.remove("dragging");
  [...event.dataTransfer.files].forEach(take);
});

const modelUrl = params.get("model") ?? DEFAULT_MODEL;
state.ready = queue(() => openModel(modelUrl, modelUrl.split("/").pop()));
