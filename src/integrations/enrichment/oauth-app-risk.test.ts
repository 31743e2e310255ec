import { describe, expect, it } from 'vitest';
import { assessApp } from './oauth-app-risk.js';

describe('OAuth app risk', () => {
  it.each([
    [{ permissions: ['Mail.ReadWrite'], publisherVerified: false }, 'malicious'],
    [{ scopes: 'offline_access Mail.Send', verifiedPublisher: null }, 'malicious'],
    [{ permissions: ['Files.ReadWrite.All'], publisherVerified: true }, 'suspicious'],
    [{ permissions: ['User.Read'], publisherVerified: false, consentType: 'AllPrincipals' }, 'suspicious'],
    [{ permissions: ['User.Read'], publisherVerified: false, consentType: 'Principal' }, 'clean'],
    [{ permissions: ['User.Read'], verifiedPublisher: { displayName: 'Contoso' } }, 'clean'],
    [{}, 'unknown'],
  ])('%j is %s', (attributes, verdict) => {
    expect(assessApp(attributes).verdict).toBe(verdict);
  });

  it('says why', () => {
    expect(
      assessApp({ permissions: ['Mail.Send'], publisherVerified: false, consentType: 'tenant' }).why,
    ).toBe('high-risk permissions Mail.Send; unverified publisher; tenant-wide consent');
  });
});
