import { createHmac } from 'node:crypto';

/** Signs a body exactly as Slack does: `v0=` + hex HMAC-SHA256 of `v0:{ts}:{body}`. Written apart from the code under test. */
export function signSlackBody(secret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Headers of a signed Slack request, timestamped `at` (seconds; now by default). */
export function slackHeaders(
  secret: string,
  body: string,
  contentType: 'application/x-www-form-urlencoded' | 'application/json',
  at: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': signSlackBody(secret, at, body),
  };
}

/** An interactivity body as Slack sends it: one form field `payload` holding the JSON. */
export const interactionBody = (payload: unknown): string =>
  `payload=${encodeURIComponent(JSON.stringify(payload))}`;

/** A slash-command body as Slack sends it. */
export const commandBody = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

/** The signing secret the Slack test files sign with. */
export const SLACK_TEST_SECRET = 'slack-signing-secret-for-tests';

/** The environment of a Vigil talking to a fake Slack Web API, with one admin and a fallback channel. */
export const slackTestEnv = (apiUrl: string, channel: string, admin: string): Record<string, string> => ({
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_SIGNING_SECRET: SLACK_TEST_SECRET,
  SLACK_API_URL: apiUrl,
  SLACK_ALERT_CHANNEL: channel,
  VIGIL_ADMINS: `slack:${admin}`,
  VIGIL_PUBLIC_URL: 'https://vigil.example',
});

/** Posts a form body to `/slack/events`, signed as Slack signs it. */
export const postSignedForm = (baseUrl: string, body: string): Promise<Response> =>
  fetch(`${baseUrl}/slack/events`, {
    method: 'POST',
    headers: slackHeaders(SLACK_TEST_SECRET, body, 'application/x-www-form-urlencoded'),
    body,
  });

/** A block_actions payload shaped like Slack's: `user` of workspace T0TEAM clicks one button in `channel`. */
export const buttonClickBody = (
  apiUrl: string,
  channel: string,
  actionId: string,
  value: string,
  user: string,
): string =>
  interactionBody({
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0VIGIL',
    token: 'verification_token',
    container: { type: 'message', message_ts: '1700000001.000001', channel_id: channel, is_ephemeral: false },
    trigger_id: `trigger-${Math.random()}`,
    team: { id: 'T0TEAM', domain: 'example' },
    channel: { id: channel, name: 'alerts' },
    response_url: `${apiUrl}response`,
    actions: [
      {
        action_id: actionId,
        block_id: 'x',
        text: { type: 'plain_text', text: 'Button', emoji: true },
        value,
        type: 'button',
        action_ts: '1700000002.000002',
      },
    ],
  });

/** A `/vigil <text>` slash command from `user` of workspace T0TEAM in `channel`. */
export const slashCommandBody = (apiUrl: string, channel: string, text: string, user: string): string =>
  commandBody({
    token: 'gIkuvaNzQIHg97ATvDxqgjtO',
    team_id: 'T0TEAM',
    team_domain: 'example',
    channel_id: channel,
    channel_name: 'alerts',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/vigil',
    text,
    response_url: `${apiUrl}response`,
    trigger_id: '13345224609.738474920.8088930838d88f008e0',
    api_app_id: 'A0VIGIL',
  });

/** The modal a Vigil button opened, as `views.open` was given it. */
export interface OpenedView {
  readonly callback_id: string;
  readonly private_metadata: string;
  readonly blocks: unknown[];
}

/**
 * A view_submission payload shaped like Slack's: `user` of workspace `teamId` submits `view` with
 * `values` as Slack's `state.values` (block ID → action ID → element state).
 */
export const viewSubmissionBody = (
  view: OpenedView,
  values: Record<string, Record<string, unknown>>,
  user: string,
  options: { readonly teamId?: string; readonly viewId?: string } = {},
): string => {
  const teamId = options.teamId ?? 'T0TEAM';
  return interactionBody({
    type: 'view_submission',
    team: { id: teamId, domain: 'example' },
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: teamId },
    api_app_id: 'A0VIGIL',
    token: 'verification_token',
    trigger_id: '111.222.valid',
    view: {
      id: options.viewId ?? `V${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
      team_id: teamId,
      type: 'modal',
      blocks: view.blocks,
      private_metadata: view.private_metadata,
      callback_id: view.callback_id,
      state: { values },
      hash: '1596530361.3wRYuk3R',
    },
    response_urls: [],
  });
};

/** The Resolve form's state: a classification picked (its option text and value) and a comment typed. */
export const resolveFormValues = (
  classification: { readonly text: string; readonly value: string },
  comment: string,
): Record<string, Record<string, unknown>> => ({
  classification: {
    classification: {
      type: 'static_select',
      selected_option: {
        text: { type: 'plain_text', text: classification.text },
        value: classification.value,
      },
    },
  },
  comment: { comment: { type: 'plain_text_input', value: comment } },
});
