import type { TicketGateway } from './port.js';

/**
 * The default tracker: the remediation in Vigil is the ticket. Nothing leaves Vigil; completion
 * and exceptions are recorded through the API or chat.
 */
export function builtinTickets(): TicketGateway {
  return {
    connector: 'builtin',
    polls: false,
    createTicket: async (request) => ({ externalId: request.number, url: request.vigilUrl }),
    // The status lives in Vigil itself; there is nothing outside to read.
    readStatus: async () => 'open',
  };
}
