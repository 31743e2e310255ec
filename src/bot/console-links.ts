/**
 * Links on chat cards that people open: pages of the web console, which asks them to sign in
 * if they have not. Never `/api/...`: a browser has no bearer token, and the API answers 401.
 */
const base = (publicUrl: string): string => `${publicUrl.replace(/\/$/, '')}/console/#`;

export const consoleAlertUrl = (publicUrl: string, alertId: string): string =>
  `${base(publicUrl)}/alerts/${encodeURIComponent(alertId)}`;

export const consoleInvestigationUrl = (publicUrl: string, investigationId: string): string =>
  `${base(publicUrl)}/investigations/${encodeURIComponent(investigationId)}`;

export const consolePolicyUrl = (publicUrl: string, policyId: string): string =>
  `${base(publicUrl)}/policies/${encodeURIComponent(policyId)}`;

export const consoleRemediationsUrl = (publicUrl: string): string => `${base(publicUrl)}/remediations`;

export const consoleIncidentUrl = (publicUrl: string, incidentId: string): string =>
  `${base(publicUrl)}/incidents/${encodeURIComponent(incidentId)}`;
