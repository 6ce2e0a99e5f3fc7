// Draws Silkworm's icons (a cocoon on a jade rounded square) as PNGs with no image library:
// signed-distance shapes, 4×4 supersampled. Run: node build/make-icons.mjs (writes build/icons/).
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const out = fileURLToPath(new URL('./icons/', import.meta.url));
mkdirSync(out, { recursive: true });

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
function png(size, rgba) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

// Shapes in a unit square (0..1).
const roundedSquare = (x, y, r = 0.22, m = 0.04) => {
  const qx = Math.abs(x - 0.5) - (0.5 - m - r);
  const qy = Math.abs(y - 0.5) - (0.5 - m - r);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
};
const cocoon = (x, y, w) => {
  const rx = 0.2, ry = 0.3, cx = 0.5, cy = 0.5;
  const ring = Math.abs(Math.hypot((x - cx) / rx, (y - cy) / ry) - 1) * Math.min(rx, ry);
  const inside = Math.hypot((x - cx) / rx, (y - cy) / ry) < 1;
  const band = (y0) => Math.abs(y - (y0 + 0.9 * (x - cx) ** 2 * -1 + 0.03));
  const bands = inside ? Math.min(band(0.42), band(0.58)) : Infinity;
  return Math.min(ring, bands) < w / 2;
};

function draw(size, { background, foreground, stroke }) {
  const rgba = Buffer.alloc(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let bg = 0, fg = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) / size;
          const y = (py + (sy + 0.5) / n) / size;
          if (!background || roundedSquare(x, y) < 0) bg++;
          if (cocoon(x, y, stroke)) fg++;
        }
      }
      const total = n * n;
      const i = (py * size + px) * 4;
      const a = fg / total;
      const base = background ? bg / total : 0;
      const color = background ?? [0, 0, 0];
      for (let c = 0; c < 3; c++) rgba[i + c] = Math.round(color[c] * (1 - a) + foreground[c] * a);
      rgba[i + 3] = Math.round(255 * Math.min(1, background ? base : a));
    }
  }
  return png(size, rgba);
}

const app = { background: [23, 128, 95], foreground: [255, 255, 255], stroke: 0.055 };
writeFileSync(`${out}icon.png`, draw(1024, app));
writeFileSync(`${out}tray.png`, draw(32, { ...app, stroke: 0.09 }));
writeFileSync(`${out}tray@2x.png`, draw(64, { ...app, stroke: 0.08 }));
// macOS menu-bar template images: black strokes on transparent; the OS tints them.
writeFileSync(`${out}trayTemplate.png`, draw(16, { background: null, foreground: [0, 0, 0], stroke: 0.12 }));
writeFileSync(`${out}trayTemplate@2x.png`, draw(32, { background: null, foreground: [0, 0, 0], stroke: 0.1 }));
console.log(`icons written to ${out}`);
