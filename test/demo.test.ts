// `npm run demo` must keep working: run it in-process and check that every scene came out as narrated.
import { describe, expect, it } from 'vitest';
import { runDemo } from '../demo/demo.js';

describe('passgate demo', () => {
  it('runs central, three terminals and wallets end to end and exits 0', async () => {
    const lines: string[] = [];
    const code = await runDemo({ out: (t) => lines.push(t), err: (t) => lines.push(t), json: false });
    const text = lines.join('\n');
    expect(text).not.toContain('<-- expected');
    expect(code).toBe(0);
    for (const reason of [
      'replayed',
      'bad_issuer_signature',
      'stale',
      'cert_expired',
      'revoked',
      'not_entitled',
    ])
      expect(text).toContain(reason);
    expect(text).toContain('no event was lost');
  }, 60_000);
});
