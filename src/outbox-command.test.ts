import { describe, expect, it } from 'vitest';
import { maskSecrets } from './outbox-command.js';

describe('maskSecrets', () => {
  it('masks tokens, credentials in URLs and signed query strings, and keeps the rest', () => {
    const masked = maskSecrets(
      'POST https://user:hunter2@hooks.example.com/x?sig=abc123&team=soc failed: Bearer eyJ.abc.def, ' +
        'token xoxb-123-456-secret: channel_not_found',
    );
    expect(masked).not.toMatch(/hunter2|abc123|eyJ|xoxb-123/);
    expect(masked).toContain('team=soc');
    expect(masked).toContain('channel_not_found');
    expect(masked).toContain('hooks.example.com');
  });
});
