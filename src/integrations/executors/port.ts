import type { ActionKind, ActionTarget } from '../../domain/index.js';

/** One approved action, as an executor receives it. */
export interface ExecutionRequest {
  readonly actionId: string;
  readonly kind: ActionKind;
  readonly target: ActionTarget;
  readonly reason: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  /** Sent to the remote system so a call repeated after a crash is recognised there. */
  readonly idempotencyKey: string;
}

/**
 * A system that carries out remediation actions (a webhook, Microsoft Graph, Defender). An
 * executor throws {@link PermanentExecutionError} when retrying cannot help (400, 403, 404) and
 * any other error when it might (timeouts, 429, 5xx, network).
 */
export interface ActionExecutor {
  readonly name: string;
  supports(kind: ActionKind): boolean;
  execute(request: ExecutionRequest, signal: AbortSignal): Promise<Readonly<Record<string, unknown>>>;
}

export class PermanentExecutionError extends Error {
  readonly code = 'executor.permanent_failure';
}

/** No executor is configured for this kind of action: the action fails with this reason. */
export class NoExecutorError extends PermanentExecutionError {
  constructor(kind: ActionKind) {
    super(
      `no executor is configured for ${kind}: set VIGIL_EXECUTOR_WEBHOOK_URL, or Microsoft app credentials (VIGIL_GRAPH_TENANT_ID, VIGIL_GRAPH_CLIENT_ID, VIGIL_GRAPH_CLIENT_SECRET)`,
    );
  }
}
