import {
  constants,
  createHash,
  createPrivateKey,
  type KeyObject,
  randomUUID,
  sign,
  X509Certificate,
} from 'node:crypto';

/** An app registration's certificate credential: the private key, and the certificate Entra ID holds. */
export interface ClientCertificate {
  readonly privateKey: KeyObject;
  /** Base64url SHA-256 of the certificate's DER (the `x5t#S256` header). */
  readonly x5tS256: string;
  /** Base64url SHA-1 of the DER (the older `x5t` header). */
  readonly x5t: string;
  /** SHA-1 thumbprint in hex, as the Entra admin center lists the app's certificates. */
  readonly thumbprint: string;
  readonly notAfter: Date;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** The first private key block of a PEM (the one node:crypto reads), with its label and body. */
const PRIVATE_KEY_BLOCK = /-----BEGIN ((?:ENCRYPTED |RSA )?PRIVATE KEY)-----([\s\S]*?)-----END /;

/**
 * Whether the PEM's private key is encrypted (needs a passphrase to be read): PKCS#8 `ENCRYPTED
 * PRIVATE KEY`, or OpenSSL's traditional `RSA PRIVATE KEY` with `Proc-Type: 4,ENCRYPTED`.
 */
export function holdsEncryptedKey(pem: string): boolean {
  const [, label, body = ''] = PRIVATE_KEY_BLOCK.exec(pem) ?? [];
  return (
    label === 'ENCRYPTED PRIVATE KEY' ||
    (label === 'RSA PRIVATE KEY' && /Proc-Type:\s*4,ENCRYPTED/.test(body))
  );
}

/**
 * Reads a PEM holding an RSA private key and its certificate; an encrypted key (as OpenSSL writes
 * one without `-nodes`) needs its `passphrase`. Throws an Error whose message says what is wrong,
 * never the key or the passphrase.
 */
export function readClientCertificate(pem: string, passphrase?: string): ClientCertificate {
  const block = CERTIFICATE_BLOCK.exec(pem)?.[0];
  if (block === undefined) throw new Error('holds no certificate (-----BEGIN CERTIFICATE-----)');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(block);
  } catch {
    throw new Error('holds a certificate that cannot be read');
  }
  const encrypted = holdsEncryptedKey(pem);
  if (encrypted && passphrase === undefined)
    throw new Error('holds an encrypted private key, and no passphrase was given for it');
  if (!encrypted && passphrase !== undefined)
    throw new Error('holds no encrypted private key, yet a passphrase was given (is it the right file?)');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem', ...(encrypted ? { passphrase } : {}) });
  } catch {
    throw new Error(
      encrypted
        ? 'holds an encrypted private key that its passphrase does not open'
        : 'holds no readable private key (-----BEGIN PRIVATE KEY-----)',
    );
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('holds a private key that is not RSA');
  if (!certificate.checkPrivateKey(privateKey))
    throw new Error('holds a private key that does not belong to its certificate');
  const digest = (algorithm: string) => createHash(algorithm).update(certificate.raw);
  return {
    privateKey,
    x5tS256: digest('sha256').digest('base64url'),
    x5t: digest('sha1').digest('base64url'),
    thumbprint: digest('sha1').digest('hex').toUpperCase(),
    notAfter: new Date(certificate.validTo),
  };
}

/** How long an assertion is valid: Entra takes it once, right away. */
const ASSERTION_LIFETIME_S = 10 * 60;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A client assertion (RFC 7523) as Microsoft Entra ID documents it for certificate credentials:
 * a JWT signed PS256 with the app's key, headers `x5t#S256` (and `x5t`, for older validators)
 * naming the certificate, claims `aud` = the token endpoint, `iss` = `sub` = the client ID, a
 * fresh `jti`, `nbf`/`iat` now and `exp` ten minutes later.
 */
export function clientAssertion(
  certificate: ClientCertificate,
  clientId: string,
  tokenEndpoint: string,
  nowMs: number,
): string {
  const now = Math.floor(nowMs / 1000);
  const header = { alg: 'PS256', typ: 'JWT', 'x5t#S256': certificate.x5tS256, x5t: certificate.x5t };
  const claims = {
    aud: tokenEndpoint,
    iss: clientId,
    sub: clientId,
    jti: randomUUID(),
    nbf: now,
    iat: now,
    exp: now + ASSERTION_LIFETIME_S,
  };
  const signingInput = `${b64(header)}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(signingInput), {
    key: certificate.privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 32,
  });
  return `${signingInput}.${signature.toString('base64url')}`;
}

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
