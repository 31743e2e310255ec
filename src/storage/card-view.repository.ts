import type { CardIncident, CardInvestigation } from '../domain/index.js';
import type { Db } from './db.js';
import { cardIncident } from './incident.repository.js';
import { cardInvestigations } from './investigation-view.repository.js';

/**
 * What a card shows beside the alert itself: its investigations and its Defender incident. A caller
 * that knows the alert is in no investigation says so and saves the query.
 */
export async function cardExtras(
  db: Db,
  alertId: string,
  investigated = true,
): Promise<{ investigations: CardInvestigation[]; incident: CardIncident | null }> {
  return {
    investigations: investigated ? await cardInvestigations(db, alertId) : [],
    incident: await cardIncident(db, alertId),
  };
}
