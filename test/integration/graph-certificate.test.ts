import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import {
  clientAssertion,
  holdsEncryptedKey,
  readClientCertificate,
} from '../../src/integrations/microsoft/client-assertion.js';
import { doctorGraph } from '../../src/integrations/microsoft/doctor.js';
import {
  EntraTokenClient,
  GRAPH_SCOPE,
  TokenRequestError,
} from '../../src/integrations/microsoft/entra-token.js';
import { FakeEntraToken } from '../fakes/entra-token.js';
import { FakeGraph } from '../fakes/graph.js';
import { eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';

// Certificate credentials against the fake Entra ID: a client assertion signed with the app's key,
// checked against the certificate registered on the app, and Vigil pulling and writing back with it.
let dir: string;
let entra: FakeEntraToken;
let graph: FakeGraph;
/** PEM files (private key, then certificate): one registered on the app, one not. */
let registered: string;
let unregistered: string;

/** A self-signed certificate and its key in one PEM file, made with the openssl command line. */
function selfSigned(name: string): string {
  const key = path.join(dir, `${name}.key`);
  const certificate = path.join(dir, `${name}.crt`);
  const made = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    certificate,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
  expect(made.status, String(made.stderr)).toBe(0);
  const file = path.join(dir, `${name}.pem`);
  spawnSync('sh', ['-c', `cat "${key}" "${certificate}" > "${file}"`]);
  return file;
}

/** `file`'s key encrypted with `passphrase` (PKCS#8, or OpenSSL's traditional PEM), then its certificate. */
function encrypted(file: string, passphrase: string, format: 'pkcs8' | 'traditional'): string {
  const out = path.join(dir, `${path.basename(file, '.pem')}.${format}.pem`);
  const key = spawnSync('openssl', [
    format === 'pkcs8' ? 'pkey' : 'rsa',
    '-in',
    file,
    '-aes256',
    ...(format === 'traditional' ? ['-traditional'] : []),
    '-passout',
    `pass:${passphrase}`,
  ]);
  expect(key.status, String(key.stderr)).toBe(0);
  const pem = readFileSync(file, 'utf8');
  writeFileSync(out, `${String(key.stdout)}${pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----'))}`);
  return out;
}

const certificateOf = async (file: string) => new X509Certificate(await readFile(file, 'utf8'));
const tokensWith = (file: string, now?: () => number) =>
  new EntraTokenClient({
    authorityUrl: entra.url,
    tenantId: entra.tenantId,
    clientId: entra.clientId,
    clientCertificate: readClientCertificate(readFileSync(file, 'utf8')),
    retries: 0,
    ...(now === undefined ? {} : { now }),
  });
const env = (file: string) => ({
  VIGIL_GRAPH_TENANT_ID: entra.tenantId,
  VIGIL_GRAPH_CLIENT_ID: entra.clientId,
  VIGIL_GRAPH_CLIENT_CERTIFICATE: file,
  VIGIL_GRAPH_AUTHORITY_URL: entra.url,
  VIGIL_GRAPH_API_URL: graph.url,
});
const problemsOf = (variables: Record<string, string>): string[] => {
  try {
    loadConfig(variables);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-cert-'));
  registered = selfSigned('vigil-app');
  unregistered = selfSigned('someone-else');
  entra = await new FakeEntraToken().start();
  entra.certificates.push(await certificateOf(registered));
  entra.roles.set('https://graph.microsoft.com', ['SecurityAlert.ReadWrite.All']);
  graph = await new FakeGraph({ entra }).start();
});
afterAll(async () => {
  await graph?.stop();
  await entra?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('certificate credentials', () => {
  it('gets a token with a client assertion made as Entra ID documents it, and no secret', async () => {
    const tokens = tokensWith(registered);
    await expect(tokens.token(GRAPH_SCOPE)).resolves.toMatch(/\./);
    const request = entra.requests.at(-1);
    expect(request?.status).toBe(200);
    const der = (await certificateOf(registered)).raw;
    expect(request?.assertion?.header).toEqual({
      alg: 'PS256',
      typ: 'JWT',
      'x5t#S256': createHash('sha256').update(der).digest('base64url'),
      x5t: createHash('sha1').update(der).digest('base64url'),
    });
    const claims = request?.assertion?.claims as Record<string, number | string>;
    expect(claims).toMatchObject({ aud: tokens.endpoint, iss: entra.clientId, sub: entra.clientId });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(claims.exp) - Number(claims.nbf)).toBeLessThanOrEqual(600);
    expect(Math.abs(Number(claims.nbf) - Date.now() / 1000)).toBeLessThan(60);
    expect(tokens.credential).toContain('client certificate, thumbprint');
  });

  it('is refused with Entra’s reason for a certificate not registered on the app, and for an expired assertion', async () => {
    await expect(tokensWith(unregistered).token(GRAPH_SCOPE)).rejects.toThrow(
      expect.objectContaining({
        constructor: TokenRequestError,
        message: expect.stringMatching(/invalid_client: AADSTS700027: The certificate .* is not registered/),
      }),
    );
    // Signed an hour ago (a clock an hour slow): expired ten minutes after that.
    const late = tokensWith(registered, () => Date.now() - 3_600_000);
    await expect(late.token(GRAPH_SCOPE)).rejects.toThrow(
      /AADSTS700024: Client assertion is not within its valid time range/,
    );
    // Our certificate's thumbprint on an assertion someone else's key signed: the signature gives it away.
    const ours = readClientCertificate(readFileSync(registered, 'utf8'));
    const forged = {
      ...ours,
      privateKey: readClientCertificate(readFileSync(unregistered, 'utf8')).privateKey,
    };
    const endpoint = tokensWith(registered).endpoint;
    const answer = await fetch(endpoint, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: entra.clientId,
        scope: GRAPH_SCOPE,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: clientAssertion(forged, entra.clientId, endpoint, Date.now()),
      }),
    });
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { error_description: string }).error_description).toMatch(
      /^AADSTS700027: Client assertion failed signature validation/,
    );
    expect(entra.requests.slice(-3).map((request) => request.status)).toEqual([401, 401, 401]);
  });

  it('is configured by a PEM file, one credential only, each problem named by its variable', async () => {
    const base = { VIGIL_GRAPH_TENANT_ID: 'tenant', VIGIL_GRAPH_CLIENT_ID: 'client' };
    expect(problemsOf({ ...base, VIGIL_GRAPH_CLIENT_CERTIFICATE: registered })).toEqual([]);
    expect(
      problemsOf({
        ...base,
        VIGIL_GRAPH_CLIENT_CERTIFICATE: registered,
        VIGIL_GRAPH_CLIENT_SECRET: 'secret-value-123',
      }),
    ).toEqual([
      expect.stringMatching(
        /^VIGIL_GRAPH_CLIENT_CERTIFICATE: set either it or VIGIL_GRAPH_CLIENT_SECRET, not both/,
      ),
    ]);
    expect(problemsOf(base)).toEqual([
      expect.stringMatching(/^VIGIL_GRAPH_CLIENT_SECRET or VIGIL_GRAPH_CLIENT_CERTIFICATE: one is required/),
    ]);
    expect(
      problemsOf({ VIGIL_GRAPH_TENANT_ID: 'tenant', VIGIL_GRAPH_CLIENT_CERTIFICATE: registered }),
    ).toEqual([
      expect.stringMatching(
        /^VIGIL_GRAPH_CLIENT_ID: is required with VIGIL_GRAPH_TENANT_ID and VIGIL_GRAPH_CLIENT_CERTIFICATE/,
      ),
    ]);
    const missing = path.join(dir, 'missing.pem');
    expect(problemsOf({ ...base, VIGIL_GRAPH_CLIENT_CERTIFICATE: missing })).toEqual([
      `VIGIL_GRAPH_CLIENT_CERTIFICATE: cannot read ${missing} (ENOENT)`,
    ]);
    const certificateOnly = path.join(dir, 'certificate-only.pem');
    await writeFile(certificateOnly, (await certificateOf(registered)).toString());
    expect(problemsOf({ ...base, VIGIL_GRAPH_CLIENT_CERTIFICATE: certificateOnly })).toEqual([
      expect.stringMatching(/^VIGIL_GRAPH_CLIENT_CERTIFICATE: .* holds no readable private key/),
    ]);
    // Someone else's key with our certificate: the pair does not match.
    const mixed = path.join(dir, 'mixed.pem');
    const otherKey = (await readFile(unregistered, 'utf8')).split('-----BEGIN CERTIFICATE-----')[0] ?? '';
    await writeFile(mixed, `${otherKey}${(await certificateOf(registered)).toString()}`);
    const problems = problemsOf({ ...base, VIGIL_GRAPH_CLIENT_CERTIFICATE: mixed });
    expect(problems).toEqual([expect.stringMatching(/does not belong to its certificate/)]);
    expect(problems.join()).not.toContain('PRIVATE KEY');
  });

  it('reads an encrypted key with its passphrase, and names each passphrase mistake without quoting it', async () => {
    // Spaces at its ends are part of a passphrase.
    const passphrase = ' correct horse battery staple ';
    const thumbprint = (await certificateOf(registered)).fingerprint.replaceAll(':', '');
    for (const format of ['pkcs8', 'traditional'] as const) {
      const file = encrypted(registered, passphrase, format);
      expect(readFileSync(file, 'utf8')).toMatch(/ENCRYPTED/);
      const config = loadConfig({ ...env(file), VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: passphrase });
      const certificate = config.VIGIL_GRAPH_CLIENT_CERTIFICATE;
      if (certificate === undefined) throw new Error('no certificate read');
      expect(certificate.thumbprint).toBe(thumbprint);
      // The passphrase served its purpose at start-up; nothing keeps it.
      expect(JSON.stringify(config)).not.toContain(passphrase);
      const tokens = new EntraTokenClient({
        authorityUrl: entra.url,
        tenantId: entra.tenantId,
        clientId: entra.clientId,
        clientCertificate: certificate,
        retries: 0,
      });
      await expect(tokens.token(GRAPH_SCOPE)).resolves.toMatch(/\./);
      expect(entra.requests.at(-1)?.status).toBe(200);

      expect(problemsOf(env(file))).toEqual([
        `VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: is required, as ${file} holds an encrypted private key`,
      ]);
      const wrong = problemsOf({
        ...env(file),
        VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: 'not-the-passphrase',
      });
      expect(wrong).toEqual([
        `VIGIL_GRAPH_CLIENT_CERTIFICATE: ${file} holds an encrypted private key that its passphrase does not open`,
      ]);
      expect(wrong.join()).not.toContain('not-the-passphrase');
      // Listed with the environment's other problems, not only once those are fixed.
      expect(
        problemsOf({ ...env(file), PORT: 'eighty', VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: 'not-it' }),
      ).toEqual([
        expect.stringMatching(/^PORT: /),
        `VIGIL_GRAPH_CLIENT_CERTIFICATE: ${file} holds an encrypted private key that its passphrase does not open`,
      ]);
    }
    expect(problemsOf({ ...env(registered), VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: passphrase })).toEqual(
      [
        `VIGIL_GRAPH_CLIENT_CERTIFICATE: ${registered} holds no encrypted private key, yet a passphrase was given (is it the right file?)`,
      ],
    );
    // What counts is the key node:crypto reads, the file's first.
    const encryptedKey = readFileSync(encrypted(registered, passphrase, 'pkcs8'), 'utf8').split(
      '-----BEGIN CERTIFICATE',
    )[0];
    expect(holdsEncryptedKey(`${readFileSync(registered, 'utf8')}${encryptedKey}`)).toBe(false);
    expect(holdsEncryptedKey(`${encryptedKey}${readFileSync(registered, 'utf8')}`)).toBe(true);
    expect(problemsOf({ VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: passphrase })).toEqual([
      'VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: is set, but VIGIL_GRAPH_CLIENT_CERTIFICATE is not',
    ]);
  });

  it('vigil doctor graph says the app signs in with its certificate', async () => {
    const lines: string[] = [];
    expect(await doctorGraph(loadConfig(env(registered)), (line) => lines.push(line))).toBe(0);
    const thumbprint = (await certificateOf(registered)).fingerprint.replaceAll(':', '');
    expect(lines[0]).toContain(`App credentials (client certificate, thumbprint ${thumbprint}`);
    expect(lines.join('\n')).toContain('ok       pull alerts (SecurityAlert.ReadWrite.All)');
  });
});

describe('Vigil with a certificate', () => {
  let vigil: TestVigil;
  afterAll(async () => {
    await vigil?.close();
  });

  it('pulls alerts from Graph and writes a resolution back', async () => {
    const alert = {
      ...(JSON.parse(
        readFileSync(
          fixture('alerts/graph-security/alert.mde-device-file-process-registry.docs.json'),
          'utf8',
        ),
      ) as Record<string, unknown>),
      id: 'cert-pulled-1',
      incidentId: null,
      status: 'new',
      classification: 'unknown',
      determination: 'unknown',
    };
    graph.putAlert(alert);
    const before = entra.requests.length;
    vigil = await startTestVigil({
      env: { ...env(registered), VIGIL_GRAPH_POLL_SECONDS: '1' },
      relayTimings: { pollMs: 100, redriveAfterMs: 2_000, redriveEveryMs: 1_000 },
    });
    const stored = await eventually(
      () =>
        vigil.handle.db
          .selectFrom('alerts')
          .select('id')
          .where('source_id', '=', 'cert-pulled-1')
          .executeTakeFirst(),
      20_000,
      'the pulled alert',
    );
    const resolved = await vigil.api('POST', `/api/alerts/${stored.id}/status`, {
      status: 'resolved',
      classification: 'true_positive',
    });
    expect(resolved.status).toBe(200);
    await eventually(
      async () => graph.alerts.get('cert-pulled-1')?.status === 'resolved',
      20_000,
      'the resolution written back to Graph',
    );
    // Every token Vigil asked for was had with the certificate.
    const asked = entra.requests.slice(before);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((request) => request.status === 200 && request.assertion !== null)).toBe(true);
  }, 60_000);
});
