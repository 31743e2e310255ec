import type { AlertDraft, Classification } from './alert.js';

/**
 * What an ingest format says happened: an alert occurred (new or again), or the source itself
 * moved an alert it reported before (Alertmanager `resolved`, PagerDuty `acknowledge`/`resolve`).
 */
export type IngestEvent =
  | { readonly kind: 'occurrence'; readonly draft: AlertDraft }
  | {
      readonly kind: 'source_status';
      readonly source: string;
      readonly fingerprint: string;
      readonly action: 'start_progress' | 'resolve';
      /** When it happened at the source (Alertmanager `endsAt`, Graph `resolvedDateTime`). */
      readonly at: Date;
      /** The source's verdict, where it gives one with a resolve (Graph's classification). */
      readonly classification?: Classification | undefined;
    };
