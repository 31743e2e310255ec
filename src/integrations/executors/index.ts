import type { ActionKind } from '../../domain/index.js';
import { defenderExecutor } from './defender.js';
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
export interface ExecutorSettings {
  readonly VIGIL_EXECUTOR_WEBHOOK_URL?: string | undefined;
  readonly VIGIL_EXECUTOR_WEBHOOK_SECRET?: string | undefined;
  readonly VIGIL_GRAPH_API_URL?: string | undefined;
  readonly VIGIL_GRAPH_TOKEN?: string | undefined;
  readonly VIGIL_DEFENDER_API_URL?: string | undefined;
  readonly VIGIL_DEFENDER_TOKEN?: string | undefined;
  readonly VIGIL_EXECUTOR_TIMEOUT_MS: number;
}

/**
 * Chooses the executor of each action kind: Graph and Defender where their tokens are set,
 * the webhook for the rest; a kind no one does fails with a reason that says what to set.
 */
export function executorFor(settings: ExecutorSettings): (kind: ActionKind) => ActionExecutor {
  const common = { timeoutMs: settings.VIGIL_EXECUTOR_TIMEOUT_MS, retries: 2 };
  const executors: ActionExecutor[] = [];
  if (settings.VIGIL_GRAPH_TOKEN !== undefined) {
    executors.push(
      graphExecutor({
        baseUrl: settings.VIGIL_GRAPH_API_URL ?? 'https://graph.microsoft.com/v1.0',
        token: settings.VIGIL_GRAPH_TOKEN,
        ...common,
      }),
    );
  }
  if (settings.VIGIL_DEFENDER_TOKEN !== undefined) {
    executors.push(
      defenderExecutor({
        baseUrl: settings.VIGIL_DEFENDER_API_URL ?? 'https://api.securitycenter.microsoft.com',
        token: settings.VIGIL_DEFENDER_TOKEN,
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
