import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Configuration, KoaContextWithOIDC, default as Provider } from 'oidc-provider';

/** A person the local identity provider knows. */
export interface ProviderAccount {
  /** The subject (`sub`) and what is typed or picked to sign in. */
  readonly login: string;
  readonly name: string;
  readonly email: string;
  /** Sent in the role claim when one is named. */
  readonly roles?: readonly string[];
  /** The `email_verified` claim. @defaultValue true */
  readonly emailVerified?: boolean;
}

export interface IdentityProviderOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The claim carrying `roles`, as VIGIL_OIDC_ROLE_CLAIM names it. */
  readonly roleClaim?: string;
  /**
   * `typed`: the provider's own development pages (type a login, any password, then consent), as a
   * person meets a real provider. `pick`: one click on a person (or none, when Vigil passes a
   * `login_hint` naming one), and no consent page: the console is the provider's only client.
   */
  readonly signIn: 'typed' | 'pick';
  /** The port to listen on (0, the default, takes a free one). */
  readonly port?: number;
}

export interface LocalIdentityProvider {
  readonly issuer: string;
  /** Registers Vigil's callback (known once Vigil's public URL is) and starts answering. */
  register(redirectUri: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Holds back oidc-provider's start-up warnings while `work` runs. They describe exactly what this
 * local provider is meant to be (in-memory state, keys made per start, a Node 20 runtime the
 * features used here are tested on) and would only alarm someone trying the demo.
 */
async function withoutProviderWarnings<T>(work: () => T | Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('oidc-provider WARNING')) warn(...args);
  };
  try {
    return await work();
  } finally {
    console.warn = warn;
  }
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function formField(req: IncomingMessage, name: string): Promise<string | null> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 4096) return null;
  }
  return new URLSearchParams(body).get(name);
}

function pickPage(uid: string, accounts: readonly ProviderAccount[]): string {
  const buttons = accounts
    .map(
      (account) => `<form method="post" action="/interaction/${escapeHtml(uid)}">
  <input type="hidden" name="prompt" value="login">
  <button name="login" value="${escapeHtml(account.login)}">Sign in as ${escapeHtml(account.name)}</button>
</form>`,
    )
    .join('\n');
  return `<!doctype html><meta charset="utf-8"><title>Vigil demo sign-in</title>
<h1>Vigil demo identity provider</h1>
<p>A local OpenID Connect provider for the demo: pick who you are.</p>
${buttons}`;
}

/**
 * A real OpenID Connect provider (`oidc-provider`) on a port of its own, for `vigil demo` and the
 * tests: discovery, ID tokens signed with its own keys, UserInfo, and PKCE required of every client,
 * so Vigil's console signs in exactly as it would at Entra ID or Okta. Keeps everything in memory.
 */
export async function startIdentityProvider(
  accounts: readonly ProviderAccount[],
  options: IdentityProviderOptions,
): Promise<LocalIdentityProvider> {
  const { default: OidcProvider } = await withoutProviderWarnings(() => import('oidc-provider'));
  let provider: Provider | null = null;
  const answer = async (req: IncomingMessage, res: ServerResponse, current: Provider) => {
    const uid = /^\/interaction\/([\w-]{1,100})$/.exec(req.url ?? '')?.[1];
    if (options.signIn === 'typed' || uid === undefined) return current.callback()(req, res);
    const details = await current.interactionDetails(req, res);
    const hinted = accounts.find((account) => account.login === details.params.login_hint);
    const picked = req.method === 'POST' ? await formField(req, 'login') : hinted?.login;
    if (picked !== null && picked !== undefined && accounts.some((account) => account.login === picked)) {
      return current.interactionFinished(req, res, { login: { accountId: picked } });
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(pickPage(uid, accounts));
  };
  const server: Server = createServer((req, res) => {
    if (provider === null) {
      res.statusCode = 503;
      res.end('not ready');
      return;
    }
    answer(req, res, provider).catch(() => {
      if (!res.headersSent) res.statusCode = 400;
      res.end('This sign-in has expired; start again from Vigil.');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { roleClaim } = options;
  const scopeClaims = ['name', ...(roleClaim === undefined ? [] : [roleClaim])];

  const configuration = (redirectUri: string): Configuration => ({
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: scopeClaims, email: ['email', 'email_verified'] },
    cookies: { keys: [randomBytes(24).toString('base64url')] },
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
          ...(roleClaim === undefined ? {} : { [roleClaim]: [...(account.roles ?? [])] }),
        }),
      };
    },
    ...(options.signIn === 'typed'
      ? {}
      : {
          features: { devInteractions: { enabled: false } },
          interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
          // The console is this provider's only client: consent is implied, as for a first-party app.
          loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
            const { oidc } = ctx;
            if (oidc.session?.accountId === undefined || oidc.client === undefined) return undefined;
            const known = oidc.session.grantIdFor(oidc.client.clientId);
            if (known !== undefined) return oidc.provider.Grant.find(known);
            const grant = new oidc.provider.Grant({
              clientId: oidc.client.clientId,
              accountId: oidc.session.accountId,
            });
            grant.addOIDCScope('openid profile email');
            grant.addOIDCClaims(['sub', 'email', 'email_verified', ...scopeClaims]);
            await grant.save();
            return grant;
          },
        }),
  });

  return {
    issuer,
    async register(redirectUri) {
      provider = await withoutProviderWarnings(() => new OidcProvider(issuer, configuration(redirectUri)));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
