import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A person the test identity provider knows, signed in by typing `login` (any password). */
export interface TestAccount {
  readonly login: string;
  readonly name: string;
  readonly email: string;
  /** The `email_verified` claim. @defaultValue true */
  readonly emailVerified?: boolean;
  /** The `vigil_roles` claim. */
  readonly roles: readonly string[];
}

export const OIDC_CLIENT = { id: 'vigil-console', secret: 'vigil-console-test-secret' } as const;
export const ROLE_CLAIM = 'vigil_roles';

export interface TestProvider {
  readonly issuer: string;
  /** Registers Vigil's callback (known once Vigil listens) and starts answering. */
  register(redirectUri: string): void;
  close(): Promise<void>;
}

/**
 * A real OpenID Connect provider (`oidc-provider`) on a port of its own: discovery, its own login
 * and consent pages (devInteractions: any password), ID tokens signed with its own keys, UserInfo,
 * and PKCE required of every client, so a sign-in without it fails.
 */
export async function startTestProvider(accounts: readonly TestAccount[]): Promise<TestProvider> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server: Server = createServer((req, res) => {
    if (handler === null) {
      res.statusCode = 503;
      res.end('not ready');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    register(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: OIDC_CLIENT.id,
            client_secret: OIDC_CLIENT.secret,
            redirect_uris: [redirectUri],
            response_types: ['code'],
            grant_types: ['authorization_code'],
            token_endpoint_auth_method: 'client_secret_post',
          },
        ],
        pkce: { required: () => true },
        claims: {
          openid: ['sub'],
          profile: ['name', ROLE_CLAIM],
          email: ['email', 'email_verified'],
        },
        cookies: { keys: ['test-provider-cookie-key'] },
        findAccount: async (_ctx: unknown, sub: string) => {
          const account = accounts.find((candidate) => candidate.login === sub);
          if (account === undefined) return undefined;
          return {
            accountId: sub,
            claims: async () => ({
              sub,
              name: account.name,
              email: account.email,
              email_verified: account.emailVerified ?? true,
              [ROLE_CLAIM]: [...account.roles],
            }),
          };
        },
      });
      handler = provider.callback();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
