/**
 * One platform-neutral model of what Vigil's chat cards say and offer; Slack (slack/render.ts)
 * and Teams (teams/render.ts) only draw it. Status words, button words, facts, entity lines,
 * links, the buttons per status and the refusal texts are decided here, once.
 */
export * from './alert-card.js';
export * from './refusals.js';
export * from './remediation-notice.js';
export type * from './types.js';
export * from './vocabulary.js';
