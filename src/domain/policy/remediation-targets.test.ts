import { describe, expect, it } from 'vitest';
import { anEntity } from '../../../test/builders/alert.js';
import { isActionKind, remediationTargets } from './remediation-targets.js';

describe('remediation targets of a policy step', () => {
  const entities = [
    anEntity({ kind: 'user', key: 'megan@contoso.com' }),
    anEntity({ kind: 'oauth_application', key: 'app-1' }),
    anEntity({ kind: 'ip', key: '203.0.113.9' }),
    anEntity({ kind: 'file', key: 'abc123' }),
  ];

  it('acts on the alert entities of the kinds the action reaches', () => {
    expect(remediationTargets('revoke_oauth_consent', entities).map((t) => t.entity.key)).toEqual(['app-1']);
    expect(remediationTargets('block_indicator', entities).map((t) => t.entity.key)).toEqual([
      '203.0.113.9',
      'abc123',
    ]);
    expect(remediationTargets('isolate_device', entities)).toEqual([]);
  });

  it('narrows to the one target the step names', () => {
    expect(remediationTargets('block_indicator', entities, { target: 'ABC123' }).map((t) => t.kind)).toEqual([
      'file',
    ]);
  });

  it('knows the action kinds', () => {
    expect(isActionKind('revoke_sessions')).toBe(true);
    expect(isActionKind('format_disk')).toBe(false);
  });
});
