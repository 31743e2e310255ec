/**
 * Draws Vigil's Teams icons without any image library or network: a shield on Vigil blue
 * (color, 192x192) and the same shield in white on transparency (outline, 32x32, as Teams
 * requires). PNGs are written by hand: IHDR, one zlib-compressed IDAT, IEND.
 *
 *   npx tsx scripts/teams-icons.ts      (writes manifest/teams/color.png and outline.png)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as PNG and ZIP both use it (node:zlib has crc32 only from Node 22). */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGBA PNG from a pixel function. */
export function png(
  size: number,
  pixel: (x: number, y: number) => readonly [number, number, number, number],
): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // filter type None
    for (let x = 0; x < size; x++) raw.set(pixel(x, y), row + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Is (u, v) in [0,1]² inside the shield, outside its eye? */
function inShield(u: number, v: number): boolean {
  const x = Math.abs(u - 0.5);
  if (v < 0.14 || v > 0.88) return false;
  const halfWidth = v < 0.55 ? 0.32 : 0.32 * (1 - ((v - 0.55) / 0.33) ** 1.4);
  if (x > halfWidth) return false;
  const eye = Math.hypot(u - 0.5, v - 0.45);
  return eye > 0.11 || eye < 0.05;
}

/** Coverage of one pixel by the shield, 4x4 supersampled for smooth edges. */
function coverage(x: number, y: number, size: number): number {
  let hits = 0;
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) if (inShield((x + (i + 0.5) / 4) / size, (y + (j + 0.5) / 4) / size)) hits++;
  return hits / 16;
}

export const VIGIL_BLUE = [0x1f, 0x4e, 0x79] as const;

export function colorIcon(): Buffer {
  return png(192, (x, y) => {
    const a = coverage(x, y, 192);
    const mix = (c: number) => Math.round(c * (1 - a) + 255 * a);
    return [mix(VIGIL_BLUE[0]), mix(VIGIL_BLUE[1]), mix(VIGIL_BLUE[2]), 255];
  });
}

export function outlineIcon(): Buffer {
  return png(32, (x, y) => [255, 255, 255, Math.round(255 * coverage(x, y, 32))]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = new URL('../manifest/teams/', import.meta.url);
  writeFileSync(new URL('color.png', dir), colorIcon());
  writeFileSync(new URL('outline.png', dir), outlineIcon());
  console.log('wrote manifest/teams/color.png (192x192) and outline.png (32x32)');
}
