import { actorLabel, CLASSIFICATION_LABELS, DETERMINATION_LABELS, STATUS_LABELS, when } from '../format';
import { href } from '../route';
import type { AlertDetail } from '../types';

/**
 * Where a Graph alert stands in Microsoft Defender, as Vigil last saw or wrote it: "In Defender:
 * Resolved (True positive) by dana", the person named when Defender holds the state they set in Vigil.
 */
export function DefenderPanel({ alert }: { alert: AlertDetail }) {
  const defender = alert.defender;
  if (defender === null || defender === undefined) return null;
  const agrees = defender.status === alert.status && alert.statusChangedBy !== null;
  const status = defender.status === null ? 'not read yet' : STATUS_LABELS[defender.status];
  const classification =
    defender.classification === null ? '' : ` (${CLASSIFICATION_LABELS[defender.classification]})`;
  const determination =
    defender.determination === null
      ? ''
      : `, ${DETERMINATION_LABELS[defender.determination] ?? defender.determination}`;
  return (
    <div class="card" data-testid="defender-panel">
      <p>
        <strong>In Defender:</strong>
        {` ${status}${classification}${determination}`}
        {agrees && ` by ${actorLabel(alert.statusChangedBy)}`}
        {defender.assignedTo !== null && `; assigned to ${defender.assignedTo}`}
        {defender.lastUpdateAt !== null && ` · updated ${when(defender.lastUpdateAt)}`}
      </p>
      {defender.writeBackError !== null && <p class="error">{defender.writeBackError}</p>}
      {defender.incidentId !== null && (
        <p>
          <a href={href('incidents', defender.incidentId)}>Its Defender incident</a>
        </p>
      )}
    </div>
  );
}
