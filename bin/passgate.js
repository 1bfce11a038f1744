#!/usr/bin/env node
// The one passgate binary: runs the compiled CLI (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'passgate: the compiled code is missing. Run `npm ci` (or `npm run build`) in the passgate folder.\n',
  );
  process.exit(2);
}
// A reader that went away (`passgate … | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
