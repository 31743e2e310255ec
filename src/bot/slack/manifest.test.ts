import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const MANIFEST = path.resolve(here, '../../../manifest/slack.yaml');

/**
 * The bot-token scopes each Slack Web API method Vigil calls needs (any one of a list is enough),
 * from Slack's method reference (https://api.slack.com/methods). A method called without an entry
 * here fails the test: look its scopes up and add it, and the scope to manifest/slack.yaml.
 */
const METHOD_SCOPES: Readonly<Record<string, readonly string[]>> = {
  // The bot token's own workspace: no scope.
  'auth.test': [],
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  // Finding a card whose post was not recorded (public and private channels): both scopes.
  'conversations.history': ['channels:history', 'groups:history'],
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
  // A member's e-mail for automatic linking: users:read, and users:read.email for profile.email.
  'users.info': ['users:read', 'users:read.email'],
  // Vigil lists public and private channels (types=public_channel,private_channel): both scopes.
  'users.conversations': ['channels:read', 'groups:read'],
  // Modals and App Home need no scope.
  'views.open': [],
  'views.publish': [],
};

/** Every `client.<family>.<method>(` call in Vigil's Slack adapter (tests left out). */
function calledMethods(): string[] {
  const methods = new Set<string>();
  for (const file of readdirSync(here)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const source = readFileSync(path.join(here, file), 'utf8');
    for (const match of source.matchAll(/\bclient\.([a-z]+)\.([a-zA-Z]+)\(/g)) {
      methods.add(`${match[1]}.${match[2]}`);
    }
  }
  return [...methods].sort();
}

describe('manifest/slack.yaml', () => {
  const manifest = parse(readFileSync(MANIFEST, 'utf8')) as {
    oauth_config: { scopes: { bot: string[] } };
  };
  const granted = new Set(manifest.oauth_config.scopes.bot);

  it('finds the Web API calls it checks (the scan still matches the code)', () => {
    expect(calledMethods()).toEqual(
      expect.arrayContaining(['chat.postMessage', 'chat.update', 'files.completeUploadExternal']),
    );
  });

  it('grants every scope the Slack Web API methods Vigil calls need', () => {
    const missing = calledMethods().flatMap((method) => {
      const needed = METHOD_SCOPES[method];
      if (needed === undefined) return [`${method}: not in METHOD_SCOPES, look up its scopes`];
      return needed.filter((scope) => !granted.has(scope)).map((scope) => `${method} needs ${scope}`);
    });
    expect(missing).toEqual([]);
  });
});
