import * as client from 'openid-client';
import type { VerifiedSignIn } from '../../../app/sessions.js';
import { oidcDirectoryEntry, roleFromClaim } from '../../../domain/index.js';

/** VIGIL_OIDC_*: where people sign in, and the claim that may grant them roles. */
export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly roleClaim: string | undefined;
  /** This install's own Entra tenant: an Entra token of another (`tid`) never links by e-mail. */
  readonly homeTenant: string | null;
}

/** What the callback must check, kept from the start of the sign-in. */
export interface LoginChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/**
 * Vigil as an OpenID Connect client (authorization code flow with PKCE, through openid-client).
 * The provider's discovery document is read on first use and kept, so Vigil starts while the
 * provider is down; a failed read is tried again on the next sign-in.
 */
export class OidcClient {
  private configuration: Promise<client.Configuration> | null = null;

  constructor(private readonly settings: OidcSettings) {}

  private discover(): Promise<client.Configuration> {
    if (this.configuration === null) {
      const issuer = new URL(this.settings.issuer);
      // Plain HTTP only for a provider on this machine (the config refuses others): tests, the demo.
      const insecure = issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {};
      this.configuration = client
        .discovery(issuer, this.settings.clientId, this.settings.clientSecret, undefined, {
          ...insecure,
          timeout: 10,
        })
        .catch((error: unknown) => {
          this.configuration = null;
          throw error;
        });
    }
    return this.configuration;
  }

  /**
   * Starts a sign-in: fresh checks, and the provider's URL to send the browser to. A `loginHint`
   * (OIDC's `login_hint`) pre-selects the account at the provider.
   */
  async begin(
    redirectUri: string,
    loginHint?: string,
  ): Promise<{ readonly url: URL; readonly checks: LoginChecks }> {
    const configuration = await this.discover();
    const checks = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
      state: checks.state,
      nonce: checks.nonce,
      ...(loginHint === undefined ? {} : { login_hint: loginHint }),
    });
    return { url, checks };
  }

  /**
   * Finishes a sign-in from the provider's redirect (`callbackUrl`, as built from
   * VIGIL_PUBLIC_URL): exchanges the code with the PKCE verifier, checks state, nonce and the ID
   * token, and reads the claims. Claims the ID token leaves out (many providers keep roles and
   * names for UserInfo) are read from UserInfo.
   */
  async finish(callbackUrl: URL, checks: LoginChecks): Promise<VerifiedSignIn> {
    const configuration = await this.discover();
    const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: checks.codeVerifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.claims();
    if (idToken === undefined) throw new Error('the provider returned no ID token');
    let claims: Record<string, unknown> = idToken;
    const { roleClaim } = this.settings;
    const wanted = [...(roleClaim === undefined ? [] : [roleClaim]), 'name', 'email', 'email_verified'];
    if (
      wanted.some((claim) => idToken[claim] === undefined) &&
      configuration.serverMetadata().userinfo_endpoint !== undefined
    ) {
      const userInfo = await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub);
      claims = { ...userInfo, ...idToken };
    }
    const name = [claims.name, claims.preferred_username, claims.email].find(
      (value): value is string => typeof value === 'string' && value !== '',
    );
    return {
      issuer: idToken.iss,
      subject: idToken.sub,
      name,
      claimedRole: roleClaim === undefined ? null : roleFromClaim(claims[roleClaim]),
      email: oidcDirectoryEntry(claims, this.settings.homeTenant),
    };
  }
}
