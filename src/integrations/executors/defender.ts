import type { ActionKind } from '../../domain/index.js';
import type { BearerSource } from '../http-retry.js';
import { type ActionExecutor, type ExecutionRequest, PermanentExecutionError } from './port.js';
import { callJson } from './request.js';

export interface DefenderOptions {
  /** @defaultValue https://api.securitycenter.microsoft.com */
  readonly baseUrl: string;
  /** Defender API tokens: the app's own (client credentials) or a static one. */
  readonly bearer: BearerSource;
  readonly timeoutMs: number;
  readonly retries: number;
}

const KINDS: readonly ActionKind[] = ['isolate_device', 'quarantine_file', 'block_indicator'];

const indicatorType = (request: ExecutionRequest): string => {
  switch (request.target.kind) {
    case 'ip':
      return 'IpAddress';
    case 'url':
      return /^https?:\/\//i.test(request.target.key) ? 'Url' : 'DomainName';
    case 'file':
      return request.target.key.length === 40 ? 'FileSha1' : 'FileSha256';
    default:
      throw new PermanentExecutionError(`cannot block a ${request.target.kind} as an indicator`);
  }
};

/**
 * Defender-style endpoint APIs: isolate a machine, stop and quarantine a file on the machine the
 * evidence names (else block and remediate it tenant-wide as an indicator), and block indicators.
 * Isolation and indicators are idempotent remotely (isolating an isolated machine is refused
 * with 400 "already isolated", which we count as done); the key rides as `x-ms-client-request-id`.
 */
export function defenderExecutor(options: DefenderOptions): ActionExecutor {
  const base = options.baseUrl.replace(/\/$/, '');
  const post = (request: ExecutionRequest, signal: AbortSignal, path: string, body: unknown) =>
    callJson({
      method: 'POST',
      url: `${base}${path}`,
      headers: { 'x-ms-client-request-id': request.idempotencyKey },
      bearer: options.bearer,
      body,
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      signal,
    });
  const comment = (request: ExecutionRequest) =>
    `Vigil action ${request.actionId}: ${request.reason}`.slice(0, 1000);
  return {
    name: 'defender',
    supports: (kind) => KINDS.includes(kind),
    async execute(request, signal) {
      const key = encodeURIComponent(request.target.key);
      switch (request.kind) {
        case 'isolate_device':
          try {
            return {
              executor: 'defender',
              answer: await post(request, signal, `/api/machines/${key}/isolate`, {
                Comment: comment(request),
                IsolationType: 'Full',
              }),
            };
          } catch (error) {
            if (error instanceof PermanentExecutionError && /already isolated/i.test(error.message)) {
              return { executor: 'defender', alreadyIsolated: true };
            }
            throw error;
          }
        case 'quarantine_file': {
          const machine = (request.evidence.deviceId ?? request.evidence.machineId) as string | undefined;
          if (typeof machine === 'string') {
            return {
              executor: 'defender',
              answer: await post(
                request,
                signal,
                `/api/machines/${encodeURIComponent(machine)}/StopAndQuarantineFile`,
                {
                  Comment: comment(request),
                  Sha1: request.target.key,
                },
              ),
            };
          }
          return {
            executor: 'defender',
            answer: await post(request, signal, '/api/indicators', {
              indicatorValue: request.target.key,
              indicatorType: indicatorType(request),
              action: 'BlockAndRemediate',
              title: `Vigil: quarantine ${request.target.displayName}`,
              description: comment(request),
              severity: 'High',
            }),
          };
        }
        case 'block_indicator':
          return {
            executor: 'defender',
            answer: await post(request, signal, '/api/indicators', {
              indicatorValue: request.target.key,
              indicatorType: indicatorType(request),
              action: 'Block',
              title: `Vigil: block ${request.target.displayName}`,
              description: comment(request),
              severity: 'High',
            }),
          };
        default:
          throw new PermanentExecutionError(`Defender does not do ${request.kind}`);
      }
    },
  };
}
