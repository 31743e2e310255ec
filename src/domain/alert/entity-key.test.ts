import { describe, expect, it } from 'vitest';
import { entityKey } from './entity-key.js';

describe('entity keys compare as their identity provider does', () => {
  it.each([
    ['user', ' CFO@Contoso.com ', 'cfo@contoso.com'],
    ['user', 'CONTOSO\\Adele', 'contoso\\adele'],
    ['mailbox', 'Adele.Vance@Contoso.COM', 'adele.vance@contoso.com'],
    ['device', 'FIN-WS-17.Contoso.local.', 'fin-ws-17.contoso.local'],
    ['app', '0AB3C4D5-1111-2222-3333-444455556666', '0ab3c4d5-1111-2222-3333-444455556666'],
    ['oauth_application', 'ABC', 'abc'],
    ['registry_key', 'HKLM\\Software\\Run', 'hklm\\software\\run'],
    ['ip', '198.51.100.7', '198.51.100.7'],
    ['ip', '2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['ip', 'FE80::1%eth0', 'fe80::1%eth0'],
    [
      'file',
      'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    ],
    ['file', '/opt/App/Run.sh', '/opt/App/Run.sh'],
    ['url', 'HTTPS://Evil.Example.com/Path?Q=A', 'https://evil.example.com/Path?Q=A'],
    ['url', 'not a url', 'not a url'],
    ['cloud_resource', 'arn:aws:s3:::My-Bucket', 'arn:aws:s3:::My-Bucket'],
  ] as const)('%s %s → %s', (kind, raw, key) => {
    expect(entityKey(kind, raw)).toBe(key);
    // Normalising twice changes nothing: stored keys can be looked up with the same function.
    expect(entityKey(kind, key)).toBe(key);
  });
});
