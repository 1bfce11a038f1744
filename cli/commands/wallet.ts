// `passgate wallet …`: the phone wallet simulator.
import { Wallet } from '../../wallet/wallet.js';
import { optNum, optStr, str, type CommandSpec } from '../command.js';
import { formatEntitlement } from './entitlements.js';

const file = { type: 'string', required: true, description: 'wallet file' } as const;

export const walletCommands: CommandSpec[] = [
  {
    name: 'wallet new',
    summary: 'create a simulated phone wallet with a fresh P-256 device key',
    options: { file },
    async run(cmd, io) {
      const w = Wallet.create(str(cmd, 'file'));
      if (io.json) io.out(JSON.stringify({ ok: true, file: w.path }));
      else
        io.out(
          `Created wallet ${w.path}. Issue a credential into it with \`passgate issuer issue --wallet ${w.path} …\``,
        );
      return 0;
    },
  },
  {
    name: 'wallet present',
    summary: 'print a fresh PG1: code, as the phone would show it in its QR',
    options: {
      file,
      at: { type: 'number', description: 'presentation time, unix seconds (default now)' },
      cti: { type: 'string', description: 'which credential (serial); default the newest' },
    },
    async run(cmd, io) {
      const t = optNum(cmd, 'at') ?? Math.floor(Date.now() / 1000);
      const qr = Wallet.open(str(cmd, 'file')).present(t, optStr(cmd, 'cti'));
      io.out(io.json ? JSON.stringify({ ok: true, qr, t, chars: qr.length }) : qr);
      return 0;
    },
  },
  {
    name: 'wallet show',
    summary: 'list the credentials a wallet holds',
    options: { file },
    async run(cmd, io) {
      const w = Wallet.open(str(cmd, 'file'));
      const creds = w.credentials.map(({ credential: _c, ...info }) => info);
      if (io.json) io.out(JSON.stringify({ ok: true, credentials: creds }));
      else if (creds.length === 0) io.out('This wallet holds no credential yet.');
      else
        for (const c of creds)
          io.out(
            `${c.cti}  ${c.sub}  issuer ${c.iss}  until ${new Date(c.exp * 1000).toISOString()}  ${c.ent.map(formatEntitlement).join(', ')}`,
          );
      return 0;
    },
  },
];
