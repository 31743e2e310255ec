import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { signSlackBody } from '../../../test/helpers/slack-signing.js';
import { verifySlackSignature } from './signature.js';

const fixtures = new URL('../../../test/fixtures/', import.meta.url);
interface Vector {
  signing_secret: string;
  'X-Slack-Request-Timestamp': string;
  raw_body?: string;
  raw_body_file?: string;
  'X-Slack-Signature': string;
  expect_valid?: boolean;
}
const vectors = JSON.parse(
  readFileSync(new URL('slack/signing/slack-signing-vector.json', fixtures), 'utf8'),
) as {
  official: Vector;
  derived: Vector[];
};
const bodyOf = (vector: Vector): string =>
  vector.raw_body ?? readFileSync(new URL(vector.raw_body_file ?? '', fixtures), 'utf8');

describe('Slack request signing', () => {
  it.each([vectors.official, ...vectors.derived])("matches Slack's vector ($X-Slack-Signature)", (vector) => {
    const body = bodyOf(vector);
    const ts = vector['X-Slack-Request-Timestamp'];
    const valid = vector.expect_valid !== false;
    // The test helper signs the way Slack does...
    expect(signSlackBody(vector.signing_secret, ts, body) === vector['X-Slack-Signature']).toBe(valid);
    // ...and the verifier agrees, inside the replay window.
    const check = verifySlackSignature({
      signingSecret: vector.signing_secret,
      timestamp: ts,
      signature: vector['X-Slack-Signature'],
      rawBody: Buffer.from(body, 'utf8'),
      nowMs: Number(ts) * 1000 + 1000,
    });
    expect(check.ok).toBe(valid);
  });

  it('refuses requests over five minutes old or from the future, and missing headers', () => {
    const { official } = vectors;
    const base = {
      signingSecret: official.signing_secret,
      timestamp: official['X-Slack-Request-Timestamp'],
      signature: official['X-Slack-Signature'],
      rawBody: bodyOf(official),
    };
    const ts = Number(official['X-Slack-Request-Timestamp']) * 1000;
    expect(verifySlackSignature({ ...base, nowMs: ts + 300_000 }).ok).toBe(true);
    expect(verifySlackSignature({ ...base, nowMs: ts + 301_000 })).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(verifySlackSignature({ ...base, nowMs: ts - 301_000 })).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(verifySlackSignature({ ...base, signature: undefined, nowMs: ts })).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
    expect(verifySlackSignature({ ...base, signature: 'v0=abc', nowMs: ts })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });
});
