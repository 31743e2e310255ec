import type {
  EnrichmentProviderName,
  EntityVerdict,
  Finding,
  InvestigationEntity,
  PlaybookStep,
} from '../../domain/index.js';

/** What a step sees: the investigation's alerts and entities as they stand when it starts. */
export interface EnrichmentContext {
  readonly investigationId: string;
  readonly round: number;
  readonly step: PlaybookStep;
  readonly alerts: readonly {
    readonly id: string;
    readonly source: string;
    readonly title: string;
    readonly severity: string;
    readonly category: string | null;
    readonly createdAt: Date;
    readonly entities: readonly {
      readonly kind: string;
      readonly key: string;
      readonly attributes: Readonly<Record<string, unknown>>;
    }[];
  }[];
  readonly entities: readonly InvestigationEntity[];
  readonly now: Date;
  /** Aborted when the step's time is up; providers pass it to their I/O. */
  readonly signal: AbortSignal;
}

/** What a step learned: verdicts on entities, key findings, and a summary for the log. */
export interface EnrichmentResult {
  readonly verdicts: readonly EntityVerdict[];
  readonly findings: readonly Finding[];
  readonly summary: Readonly<Record<string, unknown>>;
}

/**
 * One enrichment source, as a playbook step names it. A provider throws when it cannot answer
 * (timeout, garbage): the step is logged as failed and the investigation goes on.
 */
export interface EnrichmentProvider {
  readonly name: EnrichmentProviderName;
  run(context: EnrichmentContext): Promise<EnrichmentResult>;
}

/** A provider's answer that Vigil cannot use (not JSON, missing fields, unknown verdicts). */
export class EnrichmentAnswerError extends Error {
  readonly code = 'enrichment.bad_answer';
}

export const emptyResult = (summary: Record<string, unknown> = {}): EnrichmentResult => ({
  verdicts: [],
  findings: [],
  summary,
});
