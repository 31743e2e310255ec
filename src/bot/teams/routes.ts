import type { FastifyInstance } from 'fastify';
import type { BotFrameworkPort, TurnLogic } from './port.js';

/**
 * `POST /api/messages`: Fastify parses the JSON, the port authenticates it and runs the turn,
 * and the port's answer (an invoke response, or 200/401) goes back as is.
 */
export function teamsRoutes(port: BotFrameworkPort, logic: TurnLogic) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post('/api/messages', async (request, reply) => {
      const answer = await port.process({ headers: request.headers, body: request.body }, logic);
      reply.code(answer.status);
      return answer.body === undefined ? reply.send() : reply.send(answer.body);
    });
  };
}
