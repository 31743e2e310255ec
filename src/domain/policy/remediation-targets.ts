import type { AlertEntity } from '../alert/alert.js';
import { ACTION_KINDS, type ActionKind } from '../approval/action.js';
import { INVESTIGATION_KIND_OF, type InvestigationEntityKind } from '../investigation/investigation.js';

/** The entity kinds each remediation action can act on. */
const ACTS_ON: Readonly<Record<ActionKind, readonly InvestigationEntityKind[]>> = {
  disable_user: ['user'],
  revoke_sessions: ['user'],
  isolate_device: ['device'],
  quarantine_file: ['file'],
  block_indicator: ['ip', 'url', 'file'],
  revoke_oauth_consent: ['app'],
};

export const isActionKind = (value: string): value is ActionKind =>
  (ACTION_KINDS as readonly string[]).includes(value);

/**
 * The targets of a policy's remediation step on one alert: the alert's entities of the kinds the
 * action acts on, or the one entity `params.target` names (its key). A step with no target on
 * the alert has nothing to do, which the caller reports rather than hides.
 */
export function remediationTargets(
  action: ActionKind,
  entities: readonly AlertEntity[],
  params: Readonly<Record<string, unknown>> = {},
): { kind: InvestigationEntityKind; entity: AlertEntity }[] {
  const wanted = typeof params.target === 'string' ? params.target.toLowerCase() : undefined;
  return entities.flatMap((entity) => {
    const kind = INVESTIGATION_KIND_OF[entity.kind];
    if (kind === undefined || !ACTS_ON[action].includes(kind)) return [];
    if (wanted !== undefined && entity.key.toLowerCase() !== wanted) return [];
    return [{ kind, entity }];
  });
}
