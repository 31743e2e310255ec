import type { FastifyInstance } from 'fastify';
import { findAlertId, getAlert } from '../../../storage/alert.repository.js';
import { cardExtras } from '../../../storage/card-view.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import { renderAlertCard as renderSlackCard } from '../../slack/render.js';
import { renderAlertCard as renderTeamsCard } from '../../teams/render.js';
import { sendError } from '../errors.js';

/**
 * `GET /api/alerts/:id/cards/preview`: the alert card exactly as each chat platform's renderer
 * draws it now (Teams Adaptive Card JSON, Slack Block Kit blocks), so the console shows what
 * people see in chat without a chat account. Same renderers as the notify worker: one model,
 * one renderer per surface.
 */
export async function cardPreviewRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; publicUrl?: string },
): Promise<void> {
  const { handle } = deps;
  app.get<{ Params: { id: string } }>('/api/alerts/:id/cards/preview', async (request, reply) => {
    const id = await findAlertId(handle.db, request.params.id);
    const stored = id === null ? null : await getAlert(handle.db, id);
    if (id === null || stored === null) {
      return sendError(reply, 404, 'alert.not_found', `No alert ${request.params.id}.`);
    }
    // With its investigations, as the notify worker draws it.
    const alert = { ...stored, ...(await cardExtras(handle.db, id)) };
    // Without a configured public URL, the links on the preview point where the viewer already is.
    const publicUrl = (deps.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, '');
    const slack = renderSlackCard(alert, { publicUrl });
    return {
      teams: renderTeamsCard(alert, { publicUrl }),
      slack: { text: slack.text, blocks: slack.blocks },
    };
  });
}
