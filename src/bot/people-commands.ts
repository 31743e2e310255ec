import type { CommandDeps } from '../app/commands/command.js';
import { createToken, listTokens, revokeToken } from '../app/commands/tokens.js';
import type { ActingPerson, DomainError, Role } from '../domain/index.js';
import type { VigilCommand } from './command-parser.js';
import type { ChatFormat } from './oncall-commands.js';

/**
 * `role` and `token ...` from chat, the same on Slack (`/vigil ...`) and Teams: the same commands
 * (src/app/commands) and the same answers, each platform writing them in its own markup.
 */
export type TokenCommand = Extract<VigilCommand, { type: 'token.create' | 'token.list' | 'token.revoke' }>;

/** Why a token is only made where nobody else reads the answer: its secret is shown once, in it. */
export const TOKEN_NEEDS_PERSONAL_CHAT =
  'A new token is a secret shown once, so Vigil creates one only in a personal chat with it: ask there. Nothing was created.';

/** What a granted role is answered with; `name` is the person as the platform shows them. */
export const roleGrantedText = (name: string, role: Role): string =>
  `${name} is now ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role}.`;

const day = (date: Date): string => date.toISOString().slice(0, 10);

const refused = (format: ChatFormat, error: DomainError): string =>
  error.code === 'auth.forbidden' ? format.forbidden(error.message) : format.refused(error.message);

/** Runs a parsed token command for the person asking, about their own tokens only. */
export async function runTokenCommand(
  deps: CommandDeps,
  person: ActingPerson,
  command: TokenCommand,
  format: ChatFormat,
): Promise<string> {
  switch (command.type) {
    case 'token.create': {
      const created = await createToken(deps, person, { name: command.name });
      if (!created.ok) return refused(format, created.error);
      const { token, view } = created.value;
      return [
        `Your personal API token \`${view.id}\` (shown this once; Vigil keeps only its hash):`,
        `\`\`\`\n${token}\n\`\`\``,
        `It acts as you, with at most the ${view.roleCap} role, until ${day(view.expiresAt)}. Send it as \`Authorization: Bearer <token>\`; ${format.command(`token revoke ${view.id}`)} ends it.`,
      ].join('\n');
    }
    case 'token.list': {
      const tokens = await listTokens(deps, person);
      if (tokens.length === 0)
        return `You have no personal API tokens. ${format.command('token')} creates one.`;
      return tokens
        .map(
          (token) =>
            `• \`${token.id}\` ${format.text(token.name)} (${token.roleCap}): ${
              token.revokedAt !== null ? 'revoked' : `expires ${day(token.expiresAt)}`
            }, last used ${token.lastUsedAt?.toISOString() ?? 'never'}`,
        )
        .join('\n');
    }
    case 'token.revoke': {
      const revoked = await revokeToken(deps, person, { tokenId: command.id });
      return revoked.ok ? `Token \`${command.id}\` revoked.` : refused(format, revoked.error);
    }
  }
}
