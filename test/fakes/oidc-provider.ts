import {
  type LocalIdentityProvider,
  type ProviderAccount,
  startIdentityProvider,
} from '../../src/demo/identity-provider.js';

/** A person the test identity provider knows, signed in by typing `login` (any password). */
export type TestAccount = ProviderAccount & { readonly roles: readonly string[] };

export const OIDC_CLIENT = { id: 'vigil-console', secret: 'vigil-console-test-secret' } as const;
export const ROLE_CLAIM = 'vigil_roles';

export type TestProvider = LocalIdentityProvider;

/**
 * The demo's real OpenID Connect provider with its development pages: a person types a login (any
 * password) and consents, as at a real provider; PKCE is required of every client.
 */
export const startTestProvider = (accounts: readonly TestAccount[]): Promise<TestProvider> =>
  startIdentityProvider(accounts, {
    clientId: OIDC_CLIENT.id,
    clientSecret: OIDC_CLIENT.secret,
    roleClaim: ROLE_CLAIM,
    signIn: 'typed',
  });
