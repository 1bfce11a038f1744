// `passgate verify PAYLOAD --lists DIR`: a one-shot offline check against signed lists in a directory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../shared/bytes.js';
import { FileProblem, readJson } from '../../shared/files.js';
import { VerifyKey } from '../../shared/keys.js';
import { ListError, openList, type ListType } from '../../shared/lists.js';
import { REASON_TEXT } from '../../shared/reasons.js';
import { MemoryStore } from '../../shared/store.js';
import { verify, type EntitlementRequirement } from '../../shared/verify.js';
import { UsageError, UserError, optNum, optStr, str, type CommandSpec } from '../command.js';
import { parseEntitlement } from './entitlements.js';

export function loadListDir(dir: string, pinnedKeyHex?: string): { store: MemoryStore; listKey: VerifyKey } {
  let keyHex = pinnedKeyHex;
  if (!keyHex) {
    const f = readJson(join(dir, 'list-key.json'), 'list key (public)') as { publicKey?: unknown };
    if (typeof f.publicKey !== 'string')
      throw new FileProblem(`${join(dir, 'list-key.json')} has no publicKey`);
    keyHex = f.publicKey;
  }
  const listKey = new VerifyKey('EdDSA', fromHex(keyHex, 'list key'));
  const store = new MemoryStore();
  for (const type of ['trust', 'revocation'] as ListType[]) {
    const path = join(dir, `${type}.cose`);
    if (!existsSync(path))
      throw new FileProblem(
        `${path} is missing; write the lists with \`passgate issuer lists --out ${dir}\``,
      );
    try {
      store.applyList(openList(new Uint8Array(readFileSync(path)), listKey, type));
    } catch (err) {
      if (err instanceof ListError) throw new UserError(`${path} refused (${err.code}): ${err.message}`);
      throw err;
    }
  }
  return { store, listKey };
}

export const verifyCommands: CommandSpec[] = [
  {
    name: 'verify',
    args: 'PAYLOAD',
    summary: 'check a PG1: code offline against signed lists; exit 0 accept, 1 deny, 2 usage error',
    options: {
      lists: {
        type: 'string',
        required: true,
        description: 'directory with trust.cose, revocation.cose, list-key.json',
      },
      'list-key': { type: 'string', description: 'pin this list public key (hex) instead of list-key.json' },
      at: { type: 'number', description: 'verify as of this time, unix seconds (default now)' },
      require: { type: 'string', description: 'entitlement the place requires, e.g. venue:zoo' },
      window: { type: 'number', description: 'accepted presentation age in seconds (default 30)' },
    },
    help: 'Example: passgate verify "$(passgate wallet present --file w.json)" --lists lists/',
    async run(cmd, io) {
      if (cmd.positionals.length !== 1)
        throw new UsageError('give exactly one PAYLOAD (quote it: it contains spaces)');
      const payload = cmd.positionals[0]!.trim();
      const { store } = loadListDir(str(cmd, 'lists'), optStr(cmd, 'list-key'));
      let requirement: EntitlementRequirement | undefined;
      const req = optStr(cmd, 'require');
      if (req) {
        const e = parseEntitlement(req, '--require');
        requirement = { k: e.k, ...(e.v ? { v: e.v } : {}), ...(e.c ? { c: [e.c] } : {}) };
      }
      const now = optNum(cmd, 'at') ?? Math.floor(Date.now() / 1000);
      const d = verify(payload, store, {
        now,
        ...(requirement ? { requirement } : {}),
        windowSeconds: optNum(cmd, 'window') ?? 30,
      });
      if (io.json) io.out(JSON.stringify({ ...d, now }));
      else {
        io.out(
          `${d.decision.toUpperCase()}: ${d.reason} — ${REASON_TEXT[d.reason]}${d.detail ? ` (${d.detail})` : ''}`,
        );
        if (d.sub) io.out(`  member ${d.sub}, credential serial (--cti) ${d.cti}, shown at ${d.t}`);
      }
      return d.decision === 'accept' ? 0 : 1;
    },
  },
];
