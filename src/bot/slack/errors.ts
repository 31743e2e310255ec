import { ErrorCode, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { ChatRateLimitedError, PermanentChatError } from '../../domain/index.js';

/**
 * Slack error codes (HTTP 200, `ok: false`) that no retry will cure: the channel, the token or
 * the message itself is wrong. Anything else (internal_error, service_unavailable, network
 * failures) is left to the job queue's retries.
 */
export const PERMANENT_SLACK_ERRORS: ReadonlySet<string> = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'ekm_access_denied',
  'team_access_not_granted',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'msg_too_long',
  'msg_blocks_too_long',
  'invalid_blocks',
  'invalid_blocks_format',
  'too_many_attachments',
  'no_text',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'invalid_arguments',
  'user_not_found',
  'user_not_in_channel',
]);

/** Slack's codes for "too fast" that come with HTTP 200 instead of 429. */
const SOFT_RATE_LIMITS: ReadonlySet<string> = new Set([
  'ratelimited',
  'rate_limited',
  'message_limit_exceeded',
]);

const isCoded = (error: unknown): error is { code: string } =>
  typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';

/** The Slack error code of a Web API failure (`channel_not_found`), when it is one. */
export function slackErrorCode(error: unknown): string | null {
  if (isCoded(error) && error.code === ErrorCode.PlatformError) {
    const code = (error as WebAPIPlatformError).data?.error;
    return typeof code === 'string' ? code : 'unknown_error';
  }
  return null;
}

/**
 * Translates a Web API failure into the port's words: 429 → ChatRateLimitedError (Retry-After
 * honoured), a permanent code → PermanentChatError, anything else unchanged (the job retries).
 */
export function toChatError(error: unknown): unknown {
  if (isCoded(error) && error.code === ErrorCode.RateLimitedError) {
    const seconds = (error as WebAPIRateLimitedError).retryAfter;
    return new ChatRateLimitedError(Math.max(1, Number.isFinite(seconds) ? seconds : 1) * 1000, {
      cause: error,
    });
  }
  const code = slackErrorCode(error);
  if (code !== null && SOFT_RATE_LIMITS.has(code)) return new ChatRateLimitedError(1000, { cause: error });
  if (code !== null && PERMANENT_SLACK_ERRORS.has(code))
    return new PermanentChatError(code, { cause: error });
  return error;
}
