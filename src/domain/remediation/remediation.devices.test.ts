import { describe, expect, it } from 'vitest';
import { MAX_DEVICES_PER_REQUEST, splitDevices } from './remediation.devices.js';

const devices = (n: number, prefix = 'host') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('splitDevices', () => {
  it('sends 10,000 of 12,000 devices and hands back the 2,000 left, saying how to send them', () => {
    const split = splitDevices(devices(12_000));
    expect(split.sent).toHaveLength(MAX_DEVICES_PER_REQUEST);
    expect(split.left).toHaveLength(2_000);
    expect(split.sent[0]).toBe('host-0');
    expect(split.left[0]).toBe('host-10000');
    expect(split.left.at(-1)).toBe('host-11999');
    expect(split.message).toBe(
      'Sent 10,000 of 12,000 devices: one request takes at most 10,000. 2,000 devices were not sent; ' +
        'submit them in another remediation request (the API answer lists them under leftDevices).',
    );
  });

  it('sends everything under the cap, with nothing left', () => {
    const split = splitDevices(devices(10_000));
    expect(split.sent).toHaveLength(10_000);
    expect(split.left).toEqual([]);
    expect(split.message).toBe('Sent 10,000 devices for remediation.');
  });

  it('ignores blanks and repeats (case-insensitively) and says so', () => {
    const split = splitDevices(['a', ' A ', '', 'b', 'b'], 1);
    expect(split.sent).toEqual(['a']);
    expect(split.left).toEqual(['b']);
    expect(split.ignored).toBe(3);
    expect(split.message).toMatch(/1 device was not sent.*3 blank or repeated entries were ignored/);
  });
});
