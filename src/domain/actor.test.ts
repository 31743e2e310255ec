import { describe, expect, it } from 'vitest';
import { aPolicy, aSource, aUser } from '../../test/builders/alert.js';
import { expectFail, expectOk } from '../../test/builders/result.js';
import { type Actor, actorKey, actorLabel, PLATFORMS, parseUserKey, systemActor } from './actor.js';

const TEAMS_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

describe('actorKey', () => {
  it.each<[string, Actor, string]>([
    ['a Slack user', aUser({ platform: 'slack', id: 'U0123' }), 'slack:U0123'],
    ['a Teams user', aUser({ platform: 'teams', id: TEAMS_ID }), `teams:${TEAMS_ID}`],
    ['a named user (the name is not part of the key)', aUser({ id: 'U0123', name: 'Alice' }), 'slack:U0123'],
    ['a source', aSource('alertmanager'), 'source:alertmanager'],
    ['a policy (by ID, not name)', aPolicy('pol-42', 'Auto-isolate'), 'policy:pol-42'],
    ['the system', systemActor, 'system'],
  ])('keys %s', (_label, actor, key) => {
    expect(actorKey(actor)).toBe(key);
  });
});

describe('actorLabel', () => {
  it.each<[string, Actor, string]>([
    ['a user by name where known', aUser({ id: 'U0123', name: 'Alice Example' }), 'Alice Example'],
    ['a user by key otherwise', aUser({ platform: 'teams', id: TEAMS_ID }), `teams:${TEAMS_ID}`],
    ['a source as an alert source', aSource('graph'), 'graph (alert source)'],
    ['a policy by name', aPolicy('pol-42', 'Auto-isolate'), 'policy Auto-isolate'],
    ['the system as Vigil', systemActor, 'Vigil'],
  ])('labels %s', (_label, actor, label) => {
    expect(actorLabel(actor)).toBe(label);
  });
});

describe('parseUserKey', () => {
  it('accepts a Slack key', () => {
    expect(expectOk(parseUserKey('slack:U0123'))).toEqual({ kind: 'user', platform: 'slack', id: 'U0123' });
  });

  it('accepts a Teams key with an AAD object ID', () => {
    expect(expectOk(parseUserKey(`teams:${TEAMS_ID}`))).toEqual({
      kind: 'user',
      platform: 'teams',
      id: TEAMS_ID,
    });
  });

  it('trims spaces around the ID', () => {
    expect(expectOk(parseUserKey('slack:  U0123 ')).id).toBe('U0123');
  });

  it.each(PLATFORMS)('round-trips a %s key through actorKey', (platform) => {
    const key = `${platform}:X1`;
    expect(actorKey(expectOk(parseUserKey(key)))).toBe(key);
  });

  it.each([
    ['no platform', 'U0123'],
    ['no colon after a platform name', 'slackU'],
    ['an unknown platform', 'irc:x'],
    ['an empty ID', 'slack:'],
    ['a blank ID', 'slack:   '],
    ['an empty platform', ':U0123'],
    ['an empty string', ''],
    ['a platform in the wrong case', 'Slack:U0123'],
  ])('refuses %s (%j)', (_label, key) => {
    const error = expectFail(parseUserKey(key), 'actor.invalid_key');
    expect(error.message).toContain(`"${key}"`);
  });
});
