/**
 * Builds the Teams app package, dist/teams-app.zip: manifest.json (from the template in
 * manifest/teams/, IDs filled from the environment) with color.png and outline.png at the root
 * of the zip, as Teams requires.
 *
 *   MICROSOFT_APP_ID=<bot app ID> VIGIL_PUBLIC_URL=https://vigil.example.com npm run teams:package
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { colorIcon, crc32, outlineIcon } from './teams-icons.js';

const root = new URL('../', import.meta.url);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fail(message: string): never {
  console.error(`teams:package: ${message}`);
  process.exit(1);
}

const appId = process.env.MICROSOFT_APP_ID?.trim() ?? '';
if (!GUID.test(appId)) fail("set MICROSOFT_APP_ID to the Azure Bot's Microsoft App ID (a GUID)");
const publicUrl = (process.env.VIGIL_PUBLIC_URL?.trim() ?? '').replace(/\/$/, '');
let host: string;
try {
  const url = new URL(publicUrl);
  if (url.protocol !== 'https:') throw new Error('not https');
  host = url.host;
} catch {
  fail(
    'set VIGIL_PUBLIC_URL to the https:// address Teams reaches Vigil at (for example https://vigil.example.com)',
  );
}
const version = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string })
  .version;

const values: Record<string, string> = {
  MICROSOFT_APP_ID: appId,
  VIGIL_PUBLIC_URL: publicUrl,
  VIGIL_PUBLIC_HOST: host,
  VERSION: version,
};
const template = readFileSync(new URL('manifest/teams/manifest.json', root), 'utf8');
const manifest = template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
  const value = values[name];
  if (value === undefined) fail(`manifest template names an unknown value \${${name}}`);
  // Substituted into JSON strings: escape as JSON does.
  return JSON.stringify(value).slice(1, -1);
});
JSON.parse(manifest); // a template typo fails here rather than in Teams' upload dialog

const icon = (name: string, draw: () => Buffer) => {
  const path = new URL(`manifest/teams/${name}`, root);
  return existsSync(path) ? readFileSync(path) : draw();
};

/** A minimal zip writer (local headers, central directory, end record; deflate). */
function zip(files: readonly { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  // DOS date/time of 1980-01-01 00:00: fixed, so the same inputs give the same bytes.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const compressed = deflateRawSync(file.data);
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

mkdirSync(new URL('dist/', root), { recursive: true });
const out = new URL('dist/teams-app.zip', root);
writeFileSync(
  out,
  zip([
    { name: 'manifest.json', data: Buffer.from(manifest, 'utf8') },
    { name: 'color.png', data: icon('color.png', colorIcon) },
    { name: 'outline.png', data: icon('outline.png', outlineIcon) },
  ]),
);
console.log(
  `wrote dist/teams-app.zip (app ID ${appId}, ${host}); upload it in Teams: Apps > Manage your apps > Upload an app`,
);
