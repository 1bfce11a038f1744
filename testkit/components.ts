// Real components for integration tests: with CI=true a missing one FAILS the test; elsewhere the test
// skips loudly.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Returns false (after a loud warning) when the component is missing and we are not in CI; throws in CI. */
export function requireComponent(name: string, present: boolean, install: string): boolean {
  if (present) return true;
  const message = `${name} is missing (${install}); the tests that need it cannot run`;
  if (process.env.CI === 'true') throw new Error(`${message}. CI must run them: failing.`);
  console.warn(`SKIPPING: ${message}.`);
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
