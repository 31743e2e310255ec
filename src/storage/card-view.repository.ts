import type { CardIncident, CardInvestigation } from '../domain/index.js';
import type { Db } from './db.js';
import { cardIncident } from './incident.repository.js';
import { cardInvestigations } from './investigation-view.repository.js';

/** What a card shows beside the alert itself: its investigations and its Defender incident. */
export async function cardExtras(
  db: Db,
  alertId: string,
): Promise<{ investigations: CardInvestigation[]; incident: CardIncident | null }> {
  return { investigations: await cardInvestigations(db, alertId), incident: await cardIncident(db, alertId) };
}
