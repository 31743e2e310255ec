import { z } from 'zod';

/**
 * The parts of a Bot Framework activity Vigil reads, parsed at the edge. Everything is optional
 * that Teams leaves out in some shape (no `text` on an Action.Submit message, no `verb` on the
 * recorded invoke), and unknown fields are ignored: Teams adds fields without notice.
 */
const account = z.object({
  id: z.string(),
  name: z.string().optional(),
  aadObjectId: z.string().optional(),
  /** Present on some Teams activities: the person's UPN, written back to Graph as `assignedTo`. */
  userPrincipalName: z.string().optional(),
});

export const inboundActivity = z.object({
  type: z.string(),
  id: z.string().optional(),
  name: z.string().optional(),
  channelId: z.string().optional(),
  serviceUrl: z.string(),
  text: z.string().optional(),
  action: z.string().optional(),
  value: z.unknown().optional(),
  replyToId: z.string().optional(),
  from: account.optional(),
  recipient: account.optional(),
  conversation: z.object({
    id: z.string(),
    conversationType: z.string().optional(),
    tenantId: z.string().optional(),
    name: z.string().optional(),
    isGroup: z.boolean().optional(),
  }),
  membersAdded: z.array(account).optional(),
  membersRemoved: z.array(account).optional(),
  entities: z.array(z.record(z.string(), z.unknown())).optional(),
  channelData: z
    .object({
      eventType: z.string().optional(),
      tenant: z.object({ id: z.string() }).optional(),
      team: z.object({ id: z.string(), name: z.string().optional() }).optional(),
      channel: z.object({ id: z.string(), name: z.string().optional() }).optional(),
      teamsTeamId: z.string().optional(),
      teamsChannelId: z.string().optional(),
    })
    .optional(),
});
export type InboundActivity = z.output<typeof inboundActivity>;

/** The documented `adaptiveCard/action` invoke value (Universal Actions). */
export const adaptiveCardInvokeValue = z.object({
  action: z.object({
    type: z.string(),
    id: z.string().optional(),
    verb: z.string().optional(),
    data: z.unknown().optional(),
  }),
  trigger: z.string().optional(),
});

/** What Vigil's buttons carry, with the Resolve form's inputs merged in by the client. */
export const cardActionData = z.object({
  alertId: z.uuid(),
  version: z.number().int().nonnegative(),
  classification: z.string().optional(),
  determination: z.string().optional(),
  comment: z.string().max(2000).optional(),
});

/** What Approve and Reject carry, with the card's reason box merged in by the client. */
export const decisionActionData = z.object({
  actionId: z.uuid(),
  alertId: z.uuid().optional(),
  reason: z.string().max(2000).optional(),
});

/** What a remediation notice's Complete and File exception send, with their form's inputs merged in. */
export const remediationActionData = z.object({
  remediationId: z.uuid(),
  comment: z.string().max(2000).optional(),
  reason: z.string().max(100).optional(),
  expires: z.string().max(40).optional(),
  justification: z.string().max(2000).optional(),
});
export type RemediationActionData = z.output<typeof remediationActionData>;

/** What the remediation form sends: its inputs, as strings (Teams sends every input as one), all optional. */
export const remediationFormData = z.object({
  recommendation: z.string().optional(),
  devices: z.string().optional(),
  due: z.string().optional(),
  priority: z.string().optional(),
  notes: z.string().optional(),
});
export type RemediationFormData = z.output<typeof remediationFormData>;

/** Where a conversation lives: `personal`, `groupChat` or `channel`. */
export type ConversationKind = 'personal' | 'groupChat' | 'channel';

export function conversationKind(activity: InboundActivity): ConversationKind {
  const type = activity.conversation.conversationType;
  if (type === 'channel' || type === 'groupChat' || type === 'personal') return type;
  // Older payloads omit conversationType; a team's channel always has channelData.team.
  if (activity.channelData?.team !== undefined) return 'channel';
  return activity.conversation.isGroup === true ? 'groupChat' : 'personal';
}

/**
 * A channel message's conversation ID carries the thread (`19:…@thread.tacv2;messageid=123`);
 * the channel itself, where new alert posts go, is the part before `;messageid=`.
 */
export const conversationRoot = (conversationId: string): string =>
  conversationId.split(';messageid=')[0] ?? conversationId;

/**
 * The text a person typed, without the bot's @-mention(s) (`<at>Vigil</at> subscribe`), with
 * the HTML entities Teams leaves in plain text decoded.
 */
export function commandText(activity: InboundActivity): string {
  let text = activity.text ?? '';
  for (const entity of activity.entities ?? []) {
    const mentioned = entity.mentioned as { id?: unknown } | undefined;
    if (
      entity.type === 'mention' &&
      typeof entity.text === 'string' &&
      mentioned?.id === activity.recipient?.id
    ) {
      text = text.replaceAll(entity.text, ' ');
    }
  }
  // A mention of the bot without an entity (some clients) still starts the text.
  text = text.replace(/^\s*<at>[^<]*<\/at>/i, ' ');
  return text.replaceAll('&nbsp;', ' ').replace(/\s+/g, ' ').trim();
}
