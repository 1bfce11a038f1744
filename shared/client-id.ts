// MQTT client identifiers. The embedded broker accepts a terminal only under the clientId made from its
// own username, so one terminal's secret cannot be used to take over (kick off) another terminal's or a
// central worker's session. Central's clientIds carry a random suffix so they cannot be guessed.

/** The only clientId a terminal may connect with: `terminal-{id}` where id is its MQTT username. */
export function terminalClientId(terminalId: string): string {
  return `terminal-${terminalId}`;
}

/** Every clientId of central's own connections starts with this. */
export const CENTRAL_CLIENT_PREFIX = 'central-';
