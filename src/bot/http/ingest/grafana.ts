import { z } from 'zod';
import { linkTo, webhookAlert, webhookAlertEvents } from './alertmanager.js';
import { defineFormat } from './format.js';

/** The URLs Grafana adds to each alert; empty strings (no dashboard, no panel) are common. */
const grafanaAlert = webhookAlert.extend({
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
});

/**
 * Grafana unified alerting webhook (`version: "1"`). It is Alertmanager's group shape plus
 * `orgId`, per-alert URLs and the deprecated `title`/`message`/`state`, so alerts map exactly
 * like Alertmanager's (per-alert firing/resolved, Grafana's label fingerprint or a label hash).
 * The version is not checked: Grafana has only ever sent "1" and its shape grows additively.
 */
export const grafanaFormat = defineFormat({
  name: 'grafana',
  schema: z.object({
    version: z.string().optional(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().optional(),
    orgId: z.number().int().optional(),
    alerts: z.array(grafanaAlert).min(1),
  }),
  toEvents: (payload, receivedAt) =>
    webhookAlertEvents('grafana', payload.alerts, receivedAt, (alert) => [
      ...linkTo('Alert rule', alert.generatorURL),
      ...linkTo('Dashboard', alert.dashboardURL),
      ...linkTo('Panel', alert.panelURL),
      ...linkTo('Silence', alert.silenceURL),
    ]),
});
