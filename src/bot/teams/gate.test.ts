import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../config.js';
import type { InboundActivity } from './activity.js';
import { gateRefusal } from './gate.js';

const activity = (overrides: Partial<InboundActivity> = {}): InboundActivity => ({
  type: 'message',
  serviceUrl: 'http://127.0.0.1:3978',
  conversation: { id: '19:c@thread.tacv2', tenantId: 'AAAA-1' },
  channelData: { tenant: { id: 'aaaa-1' } },
  ...overrides,
});

describe('teams gate', () => {
  it('serves listed tenants (any letter case), refuses others and activities naming none', () => {
    const gate = { tenants: ['aaaa-1'], loopbackServiceUrlOnly: false };
    expect(gateRefusal(gate, activity())).toBeNull();
    expect(gateRefusal(gate, activity({ conversation: { id: 'x', tenantId: 'bbbb-2' } }))?.code).toBe(
      'teams.tenant_not_allowed',
    );
    expect(gateRefusal(gate, activity({ conversation: { id: 'x' }, channelData: {} }))?.code).toBe(
      'teams.tenant_not_allowed',
    );
    expect(
      gateRefusal({ tenants: '*', loopbackServiceUrlOnly: false }, activity({ channelData: {} })),
    ).toBeNull();
  });

  it('without authentication, answers loopback serviceUrls only', () => {
    const gate = { tenants: '*' as const, loopbackServiceUrlOnly: true };
    for (const serviceUrl of [
      'http://127.0.0.1:3978',
      'http://localhost/',
      'http://[::1]:8080',
      'https://127.8.9.10',
    ])
      expect(gateRefusal(gate, activity({ serviceUrl }))).toBeNull();
    for (const serviceUrl of [
      'http://10.0.0.1',
      'http://127.0.0.1.nip.io',
      'https://smba.trafficmanager.net/emea/',
      'ftp://127.0.0.1',
      'not a url',
    ])
      expect(gateRefusal(gate, activity({ serviceUrl }))?.code).toBe('teams.service_url_not_allowed');
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of [
      '0.0.0.0',
      '::',
      '10.1.1.1',
      '128.0.0.1',
      'localhost.example.com',
      '127.0.0.1.nip.io',
    ])
      expect(isLoopbackHost(host)).toBe(false);
  });
});
