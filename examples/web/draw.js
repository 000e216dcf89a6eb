// The overlay: the image, each mask tinted inside its window, its box, and "name score" above it.
const COLOURS = [[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
  [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128]];
const ALPHA = 0.45;

export function drawDetections(canvas, image, detections) {
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  const pixels = new ImageData(new Uint8ClampedArray(image.data), image.width, image.height);
  detections.forEach((d, i) => tint(pixels, d, COLOURS[i % COLOURS.length]));
  context.putImageData(pixels, 0, 0);
  const font = Math.max(12, Math.round(image.height / 28));
  context.font = `${font}px sans-serif`;
  context.lineWidth = Math.max(1, image.height / 300);
  [...detections].reverse().forEach((d, j) => {  // the best drawn last, on top
    const i = detections.length - 1 - j;
    const colour = `rgb(${COLOURS[i % COLOURS.length].join(",")})`;
    const [x1, y1, x2, y2] = d.box;
    context.strokeStyle = colour;
    context.strokeRect(x1 + 0.5, y1 + 0.5, x2 - x1, y2 - y1);
    const label = `${d.className} ${d.score.toFixed(2)}`;
    const width = context.measureText(label).width + 6;
    const top = y1 >= font + 4 ? y1 - font - 4 : y1;
    context.fillStyle = colour;
    const left = Math.max(0, Math.min(x1, image.width - width));  // kept inside the picture
    context.fillRect(left, top, width, font + 4);
    context.fillStyle = "white";
    context.fillText(label, left + 3, top + font);
  });
}

function tint(pixels, detection, colour) {
  const { mask, window } = detection;
  if (!mask || !window) return;
  const data = pixels.data, width = pixels.width;
  for (let y = window.top; y < window.bottom; y++) {
    for (let x = window.left; x < window.right; x++) {
      if (!mask[y * width + x]) continue;
      const at = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) data[at + c] = data[at + c] * (1 - ALPHA) + colour[c] * ALPHA;
    }
  }
}
