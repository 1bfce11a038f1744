// Listening on a TCP port (0 = any free one) and learning which port was bound: every server here
// (terminal health/metrics and TCP input, central broker and admin API) starts this way.
import type { Server } from 'node:net';

/** Resolves with the bound port once the server listens; rejects with the listen error (port in use …). */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}
