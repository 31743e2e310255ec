import { ACTION_LABELS } from '../../domain/index.js';
import type { ActionExecutor } from './port.js';

/**
 * The demo's stand-in executor, for action kinds no real executor is configured for: it changes
 * nothing anywhere, says what it would have done, and reports the action done, so Approve works
 * end to end in `vigil demo`. Only the demo turns it on (VIGIL_DEMO_EXECUTOR); its answer is
 * labelled `simulated` wherever the action's result is shown.
 */
export function demoExecutor(): ActionExecutor {
  return {
    name: 'demo',
    supports: () => true,
    execute: async (request) => ({
      executor: 'demo',
      simulated: true,
      wouldHave: `${ACTION_LABELS[request.kind]}: ${request.target.displayName}`,
      note: 'Demo executor: nothing was changed anywhere. Configure a real executor to act.',
    }),
  };
}
