import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { actorLabel, type Clock, markCompleted, markInProgress, ticketingActor } from '../domain/index.js';
import { type TicketGateway, TicketingError, type TicketRequest } from '../integrations/ticketing/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import {
  chainNextPoll,
  changeRemediation,
  getRemediation,
  recordTicket,
  recordTicketFailed,
  remediationDevices,
  type StoredRemediation,
} from '../storage/remediation.repository.js';

export const ticketPayload = z.discriminatedUnion('kind', [
  z.object({ remediationId: z.uuid(), kind: z.literal('open') }),
  z.object({ remediationId: z.uuid(), kind: z.literal('poll'), seq: z.number().int().positive() }),
]);

export interface TicketWorkerDeps {
  readonly handle: DbHandle;
  readonly gateway: TicketGateway;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Base URL of Vigil, for the link back in the ticket. */
  readonly publicUrl: string;
  /** Time between status polls. */
  readonly pollMs: number;
}

export function ticketRequest(
  remediation: StoredRemediation,
  devices: readonly string[],
  publicUrl: string,
): TicketRequest {
  const text = remediation.subject.text;
  return {
    remediationId: remediation.id,
    number: `R-${remediation.number}`,
    title: text.split('\n')[0]?.slice(0, 200) ?? text,
    recommendation: text,
    actionRef: remediation.subject.kind === 'investigation_action' ? remediation.subject.actionRef : null,
    devices,
    devicesLeft: remediation.devicesLeft,
    dueAt: remediation.dueAt,
    priority: remediation.priority,
    notes: remediation.notes,
    requester: actorLabel(remediation.requester),
    alertId: remediation.alertId,
    vigilUrl: `${publicUrl}/api/remediations/${remediation.id}`,
  };
}

// Polls are spaced in real time: the outbox judges `available_at` by Postgres's clock, not Vigil's.
const nextPollAt = (deps: TicketWorkerDeps): Date => new Date(Date.now() + deps.pollMs);

/**
 * Opens the remediation's ticket, once. A ticket already recorded ends the job; otherwise the
 * connector looks the ticket up by the remediation's idempotency key before creating one, so a
 * job retried after the ticketing system answered (but before the answer was stored) finds the
 * ticket rather than opening a second. A permanent refusal is recorded and not retried.
 */
export async function openTicket(deps: TicketWorkerDeps, remediationId: string): Promise<void> {
  const { handle, gateway, clock } = deps;
  const remediation = await getRemediation(handle.db, remediationId);
  if (remediation === null || remediation.externalId !== null) return;
  const devices = await remediationDevices(handle.db, remediationId);
  let ticket: Awaited<ReturnType<TicketGateway['createTicket']>>;
  try {
    ticket = await gateway.createTicket(
      ticketRequest(remediation, devices, deps.publicUrl),
      remediation.idempotencyKey,
    );
  } catch (error) {
    if (error instanceof TicketingError && error.permanent) {
      await recordTicketFailed(handle, remediationId, clock, error.message);
      throw new UnrecoverableError(error.message);
    }
    throw error;
  }
  await recordTicket(
    handle,
    remediationId,
    clock,
    {
      connector: gateway.connector,
      externalId: ticket.externalId,
      url: ticket.url,
      reused: ticket.reused === true,
    },
    gateway.polls ? nextPollAt(deps) : null,
  );
}

/**
 * Reads the ticket's status and brings the remediation along: done completes it (as the
 * ticketing system), started moves an open one to In progress. Then the chain moves one link on;
 * a duplicate delivery of the same link finds the chain moved and schedules nothing.
 */
export async function pollTicket(deps: TicketWorkerDeps, remediationId: string, seq: number): Promise<void> {
  const { handle, gateway, clock, logger } = deps;
  const remediation = await getRemediation(handle.db, remediationId);
  if (remediation === null || remediation.externalId === null || remediation.status === 'completed') return;
  const status = await gateway.readStatus(remediation.externalId);
  const actor = ticketingActor(gateway.connector);
  if (status === 'done') {
    await changeRemediation(handle, remediationId, clock, actor, (current, now) =>
      markCompleted(current, actor, now),
    );
  } else if (status === 'in_progress' && remediation.status === 'open') {
    const result = await changeRemediation(handle, remediationId, clock, actor, (current, now) =>
      markInProgress(current, actor, now),
    );
    if (!result.ok) logger.debug({ remediationId, code: result.error.code }, 'ticket started; status kept');
  }
  await chainNextPoll(handle, remediationId, seq, nextPollAt(deps));
}
