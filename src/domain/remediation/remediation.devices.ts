/**
 * At most this many devices go out with one remediation request, as the IT tools it feeds
 * (Intune security tasks) take no more; the rest must be sent in another request.
 */
export const MAX_DEVICES_PER_REQUEST = 10_000;

/** How a device list was split: what went out, what is left, and a sentence that says so. */
export interface DeviceSplit {
  /** The devices sent with this request, in the order given. */
  readonly sent: readonly string[];
  /** The devices that did not fit: never dropped silently, handed back to be sent again. */
  readonly left: readonly string[];
  /** Blank entries and repeats that were ignored (they would not add a device). */
  readonly ignored: number;
  readonly message: string;
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Splits a device list at the per-request cap. Names are trimmed, blanks and repeats ignored
 * (case-insensitively, as device names are), and order is kept so the first devices asked for go first.
 */
export function splitDevices(devices: readonly string[], cap = MAX_DEVICES_PER_REQUEST): DeviceSplit {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const raw of devices) {
    const device = raw.trim();
    const key = device.toLowerCase();
    if (device === '' || seen.has(key)) continue;
    seen.add(key);
    unique.push(device);
  }
  const sent = unique.slice(0, cap);
  const left = unique.slice(cap);
  const ignored = devices.length - unique.length;
  const ignoredNote = ignored > 0 ? ` ${count(ignored)} blank or repeated entries were ignored.` : '';
  const message =
    left.length === 0
      ? `Sent ${count(sent.length)} device${sent.length === 1 ? '' : 's'} for remediation.${ignoredNote}`
      : `Sent ${count(sent.length)} of ${count(unique.length)} devices: one request takes at most ` +
        `${count(cap)}. ${count(left.length)} device${left.length === 1 ? ' was' : 's were'} not sent; ` +
        `submit them in another remediation request (the API answer lists them under leftDevices).${ignoredNote}`;
  return { sent, left, ignored, message };
}
