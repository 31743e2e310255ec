import { describe, expect, it } from 'vitest';
import { parseCommand } from './command-parser.js';

describe('parseCommand', () => {
  it('reads help, alerts with filters and one alert', () => {
    expect(parseCommand('')).toEqual({ ok: true, value: { type: 'help' } });
    expect(parseCommand('  help ')).toEqual({ ok: true, value: { type: 'help' } });
    expect(parseCommand('alerts')).toEqual({
      ok: true,
      value: { type: 'alerts', status: ['new', 'in_progress'], severity: [], source: [] },
    });
    expect(parseCommand('alerts status=resolved severity>=high source=Graph,pd')).toEqual({
      ok: true,
      value: {
        type: 'alerts',
        status: ['resolved'],
        severity: ['high', 'critical'],
        source: ['graph', 'pd'],
      },
    });
    expect(parseCommand('alert #42')).toEqual({ ok: true, value: { type: 'alert', ref: '#42' } });
  });

  it('reads resolve with a classification word and the comment as typed', () => {
    expect(parseCommand('resolve 42 fp  scanner  noise')).toEqual({
      ok: true,
      value: { type: 'resolve', ref: '42', classification: 'false_positive', comment: 'scanner  noise' },
    });
    expect(parseCommand('resolve 42 expected')).toEqual({
      ok: true,
      value: { type: 'resolve', ref: '42', classification: 'informational_expected_activity' },
    });
  });

  it('reads routes with escaped channels and matchers', () => {
    expect(
      parseCommand('route add <#C0SEC|security> source=graph severity>=high label:team=identity'),
    ).toEqual({
      ok: true,
      value: {
        type: 'route.add',
        route: { channel: 'C0SEC', sources: ['graph'], minSeverity: 'high', labels: { team: 'identity' } },
      },
    });
    expect(parseCommand('route list')).toEqual({ ok: true, value: { type: 'route.list' } });
    expect(parseCommand('route remove 3')).toEqual({ ok: true, value: { type: 'route.remove', id: '3' } });
  });

  it('reads role grants from an escaped mention', () => {
    expect(parseCommand('role <@U0ALICE|alice> responder')).toEqual({
      ok: true,
      value: { type: 'role', who: { kind: 'user', userId: 'U0ALICE' }, role: 'responder' },
    });
  });

  it('reads role grants naming the person by an identity (all Teams can name)', () => {
    expect(parseCommand('role teams:t1:0b0b admin')).toEqual({
      ok: true,
      value: { type: 'role', who: { kind: 'identity', key: 'teams:t1:0b0b' }, role: 'admin' },
    });
  });

  it('reads investigate and investigation', () => {
    expect(parseCommand('investigate 42')).toEqual({ ok: true, value: { type: 'investigate', ref: '42' } });
    const id = '6F1C1A52-4A8E-4D53-9D38-0D2F4F1F7E11';
    expect(parseCommand(`investigation ${id}`)).toEqual({
      ok: true,
      value: { type: 'investigation', ref: id.toLowerCase() },
    });
  });

  it.each([
    ['investigate', 'Usage: `/vigil investigate'],
    ['investigation <script>', 'Usage: `/vigil investigation'],
    ['alerts severity=urgent', 'not a severity'],
    ['alerts colour=red', 'do not understand'],
    ['alert', 'Usage: `/vigil alert'],
    ['resolve 42', 'Usage: `/vigil resolve'],
    ['resolve 42 maybe', '"maybe" is not a classification'],
    ['route add #security', 'pick'],
    ['route add <#C0SEC|s> severity>=huge', 'not a severity'],
    ['route remove abc', 'Usage'],
    ['role alice admin', 'Usage: `/vigil role'],
    ['role <@U0ALICE> king', '"king" is not a role'],
    ['dance', 'Try `/vigil help`'],
  ])('explains the right usage for %j', (text, expected) => {
    const result = parseCommand(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain(expected);
  });

  it('reads link and unlink naming the person by a Slack mention or by one of their identities', () => {
    expect(parseCommand('link <@U0ALICE|alice> teams:t1:oid-1')).toEqual({
      ok: true,
      value: { type: 'link', who: { kind: 'user', userId: 'U0ALICE' }, key: 'teams:t1:oid-1' },
    });
    expect(parseCommand('unlink teams:t1:oid-1 slack:T01:U02')).toEqual({
      ok: true,
      value: { type: 'unlink', who: { kind: 'identity', key: 'teams:t1:oid-1' }, key: 'slack:T01:U02' },
    });
    for (const text of ['link bob slack:T01:U02', 'link teams:t1:oid-1', 'link teams:t1:oid-1 bob'])
      expect(parseCommand(text)).toMatchObject({ ok: false, error: { code: 'command.invalid' } });
  });
});
