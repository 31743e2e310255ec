import type { ActionKind } from '../../domain/index.js';
import { type MicrosoftAccess, type MicrosoftSettings, microsoftAccess } from '../microsoft/access.js';
import { defenderExecutor } from './defender.js';
import { demoExecutor } from './demo.js';
import { graphExecutor } from './graph.js';
import { type ActionExecutor, NoExecutorError } from './port.js';
import { webhookExecutor } from './webhook.js';

export {
  type ActionExecutor,
  type ExecutionRequest,
  NoExecutorError,
  PermanentExecutionError,
} from './port.js';

/** The executor settings of the configuration (see config.ts). */
export interface ExecutorSettings extends MicrosoftSettings {
  readonly VIGIL_EXECUTOR_WEBHOOK_URL?: string | undefined;
  readonly VIGIL_EXECUTOR_WEBHOOK_SECRET?: string | undefined;
  readonly VIGIL_GRAPH_API_URL?: string | undefined;
  readonly VIGIL_DEFENDER_API_URL?: string | undefined;
  readonly VIGIL_EXECUTOR_TIMEOUT_MS: number;
  /** `vigil demo`: kinds no executor does are simulated (see demoExecutor) instead of failing. */
  readonly VIGIL_DEMO_EXECUTOR?: boolean | undefined;
  /** `vigil demo`'s simulated Defender holds the Microsoft credentials: they reach no real tenant, so no action goes through them. */
  readonly VIGIL_DEMO_DEFENDER?: boolean | undefined;
}

/**
 * Chooses the executor of each action kind: Graph and Defender where Vigil has tokens for them
 * (app credentials, else static tokens), the webhook for the rest; a kind no one does fails with
 * a reason that says what to set (in the demo, the demo executor simulates it). Pass the
 * process's `access` so every user shares its tokens.
 */
export function executorFor(
  settings: ExecutorSettings,
  access: MicrosoftAccess = microsoftAccess(settings),
): (kind: ActionKind) => ActionExecutor {
  const common = { timeoutMs: settings.VIGIL_EXECUTOR_TIMEOUT_MS, retries: 2 };
  const executors: ActionExecutor[] = [];
  // The simulated Defender's credentials would send Defender API calls to Microsoft with a fake token.
  const microsoft = settings.VIGIL_DEMO_DEFENDER === true ? { graph: null, defender: null } : access;
  if (microsoft.graph !== null) {
    executors.push(
      graphExecutor({
        baseUrl: settings.VIGIL_GRAPH_API_URL ?? 'https://graph.microsoft.com/v1.0',
        bearer: microsoft.graph,
        ...common,
      }),
    );
  }
  if (microsoft.defender !== null) {
    executors.push(
      defenderExecutor({
        baseUrl: settings.VIGIL_DEFENDER_API_URL ?? 'https://api.securitycenter.microsoft.com',
        bearer: microsoft.defender,
        ...common,
      }),
    );
  }
  if (settings.VIGIL_EXECUTOR_WEBHOOK_URL !== undefined) {
    // config.ts refuses this at start-up; an unsigned action webhook would take orders from anyone.
    if (settings.VIGIL_EXECUTOR_WEBHOOK_SECRET === undefined)
      throw new Error('VIGIL_EXECUTOR_WEBHOOK_SECRET: is required with VIGIL_EXECUTOR_WEBHOOK_URL');
    executors.push(
      webhookExecutor({
        url: settings.VIGIL_EXECUTOR_WEBHOOK_URL,
        secret: settings.VIGIL_EXECUTOR_WEBHOOK_SECRET,
        ...common,
      }),
    );
  }
  if (settings.VIGIL_DEMO_EXECUTOR === true) executors.push(demoExecutor());
  return (kind) => {
    const executor = executors.find((candidate) => candidate.supports(kind));
    if (executor === undefined) {
      return {
        name: 'none',
        supports: () => false,
        execute: async () => {
          throw new NoExecutorError(kind);
        },
      };
    }
    return executor;
  };
}
