// `passgate issuer …`: keys, credentials, revocation and signed lists, kept in a directory.
import { IssuerKeystore } from '../../issuer/keystore.js';
import { toHex } from '../../shared/bytes.js';
import { coseKeyFromPublic, keyId, type Alg } from '../../shared/keys.js';
import { encodeCbor } from '../../shared/cbor.js';
import { Wallet } from '../../wallet/wallet.js';
import { ROLES } from '../../terminal/config.js';
import { centralClient, centralOptions } from '../central-client.js';
import {
  UsageError,
  optNum,
  optStr,
  str,
  strs,
  type CommandIo,
  type CommandSpec,
  type ParsedCommand,
} from '../command.js';
import { formatEntitlement, parseEntitlement } from './entitlements.js';

const dir = { type: 'string', required: true, description: 'issuer directory (keys and state)' } as const;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** `--dir` (the issuer folder) or `--central URL` (a running central), exactly one. */
const dirOrCentral = {
  dir: { type: 'string', description: 'issuer directory (keys and state); or use --central' },
  ...centralOptions,
} as const;

function target(cmd: ParsedCommand): 'dir' | 'central' {
  const hasDir = optStr(cmd, 'dir') !== undefined;
  const hasCentral = optStr(cmd, 'central') !== undefined;
  if (hasDir === hasCentral)
    throw new UsageError(
      'give exactly one of --dir DIR (change the issuer folder) or --central URL (change a running central)',
    );
  if (hasDir && (optStr(cmd, 'token') !== undefined || optStr(cmd, 'central-data') !== undefined))
    throw new UsageError('--token and --central-data go with --central URL, not with --dir');
  return hasDir ? 'dir' : 'central';
}

const DAY = 86_400;

function duration(seconds: number): string {
  return seconds % 3600 === 0
    ? `${seconds / 3600} h`
    : seconds % 60 === 0
      ? `${seconds / 60} min`
      : `${seconds} s`;
}

const SUBJECT = /^[A-Za-z0-9_.:-]{3,64}$/;

/** revoke and suspend: the same change, made in the issuer folder or at a running central. */
async function changeRevocations(
  cmd: ParsedCommand,
  io: CommandIo,
  change: {
    field: 'cti' | 'sub';
    route: string;
    verb: string;
    apply: (ks: IssuerKeystore, value: string) => boolean;
  },
): Promise<number> {
  const value = str(cmd, change.field);
  if (target(cmd) === 'central') {
    const client = centralClient(cmd);
    const { version } = await client.request<{ version: number }>(change.route, { [change.field]: value });
    if (io.json) io.out(JSON.stringify({ ok: true, central: client.url, revocationVersion: version }));
    else
      io.out(
        `${change.verb} ${value} at central; revocation list is now version ${version} and is on its way to the terminals.`,
      );
    return 0;
  }
  const ks = IssuerKeystore.open(str(cmd, 'dir'));
  const changed = change.apply(ks, value);
  if (io.json) io.out(JSON.stringify({ ok: true, changed, revocationVersion: ks.versions.revocation }));
  else
    io.out(
      changed
        ? `${change.verb} ${value}; revocation list is now version ${ks.versions.revocation}. Publish it with \`passgate issuer lists\`.`
        : `${value} was already ${change.verb.toLowerCase()}; nothing changed.`,
    );
  return 0;
}

export const issuerCommands: CommandSpec[] = [
  {
    name: 'issuer init',
    summary: 'create an issuer key and a list key (files 0600)',
    options: {
      dir,
      alg: { type: 'string', description: 'issuer signature algorithm: EdDSA (default) or ES256' },
      issuer: { type: 'string', description: 'issuer name carried in credentials (default city-pass)' },
    },
    async run(cmd, io) {
      const alg = (optStr(cmd, 'alg') ?? 'EdDSA') as Alg;
      if (alg !== 'EdDSA' && alg !== 'ES256') throw new UsageError('--alg must be EdDSA or ES256');
      const issuer = optStr(cmd, 'issuer') ?? 'city-pass';
      const ks = IssuerKeystore.init(str(cmd, 'dir'), { alg, issuer });
      const info = {
        issuer,
        alg,
        issuerKid: toHex(keyId(ks.issuerKey.publicKey)),
        listKid: toHex(keyId(ks.listKey.publicKey)),
        dir: ks.dir,
      };
      if (io.json) io.out(JSON.stringify({ ok: true, ...info }));
      else
        io.out(
          `Created issuer "${issuer}" in ${ks.dir}\n  issuer key ${info.issuerKid} (${alg})\n  list key   ${info.listKid} (EdDSA)\n` +
            `Next: passgate issuer issue --dir ${ks.dir} --wallet W --sub PSEUDONYM --ent venue:zoo`,
        );
      return 0;
    },
  },
  {
    name: 'issuer issue',
    summary: "issue a credential into a wallet file (bound to the wallet's device key)",
    options: {
      dir,
      wallet: { type: 'string', required: true, description: 'wallet file (from `passgate wallet new`)' },
      sub: { type: 'string', required: true, description: 'member pseudonym (never a name or ID number)' },
      ent: { type: 'strings', required: true, description: 'entitlement KIND[:ID][:class=C][:loans=N]' },
      days: { type: 'number', description: 'validity in days (default 30)' },
      at: { type: 'number', description: 'issue time, unix seconds (default now)' },
    },
    async run(cmd, io) {
      const sub = str(cmd, 'sub');
      if (!SUBJECT.test(sub))
        throw new UsageError('--sub must be a pseudonym of 3-64 letters, digits or _.:-');
      const days = optNum(cmd, 'days') ?? 30;
      if (!(days > 0 && days <= 3650)) throw new UsageError('--days must be between 0 and 3650');
      const ent = strs(cmd, 'ent').map(parseEntitlement);
      const ks = IssuerKeystore.open(str(cmd, 'dir'));
      const wallet = Wallet.open(str(cmd, 'wallet'));
      const { credential, record } = ks.issue({
        sub,
        devicePublicKey: wallet.devicePublicKey,
        ent,
        days,
        now: optNum(cmd, 'at') ?? nowSeconds(),
      });
      wallet.addCredential(credential, { cti: record.cti, sub, iss: ks.issuer, exp: record.exp, ent });
      if (io.json) io.out(JSON.stringify({ ok: true, ...record, bytes: credential.length }));
      else
        io.out(
          `Issued credential ${record.cti} to ${sub} (${ent.map(formatEntitlement).join(', ')}), valid until ${new Date(record.exp * 1000).toISOString()}\n` +
            `Stored in wallet ${wallet.path}. Show it with: passgate wallet present --file ${wallet.path}`,
        );
      return 0;
    },
  },
  {
    name: 'issuer revoke',
    summary: 'revoke a credential by serial (cti): in the issuer folder, or at a running central',
    options: {
      ...dirOrCentral,
      cti: { type: 'string', required: true, description: 'credential serial, 32 hex digits' },
    },
    help: `Examples:
  passgate issuer revoke --dir ./issuer --cti 00112233445566778899aabbccddeeff
  passgate issuer revoke --central http://127.0.0.1:8480 --central-data ./central --cti 0011…eeff
With --central the change is published to every connected terminal at once (a signed delta).`,
    run: (cmd, io) =>
      changeRevocations(cmd, io, {
        field: 'cti',
        route: '/revoke',
        verb: 'Revoked',
        apply: (ks, v) => ks.revoke(v),
      }),
  },
  {
    name: 'issuer suspend',
    summary: 'suspend a member (by pseudonym): all their credentials are denied',
    options: { ...dirOrCentral, sub: { type: 'string', required: true, description: 'member pseudonym' } },
    help: `Examples:
  passgate issuer suspend --dir ./issuer --sub p-7f3a
  passgate issuer suspend --central http://127.0.0.1:8480 --central-data ./central --sub p-7f3a`,
    run: (cmd, io) =>
      changeRevocations(cmd, io, {
        field: 'sub',
        route: '/suspend',
        verb: 'Suspended',
        apply: (ks, v) => ks.suspend(v),
      }),
  },
  {
    name: 'issuer enroll-code',
    summary: 'ask a running central for a one-time code that enrolls one terminal',
    options: {
      terminal: { type: 'string', required: true, description: 'terminal id, e.g. gate-north-1' },
      role: { type: 'string', required: true, description: `terminal role: ${ROLES.join(', ')}` },
      ttl: { type: 'number', description: 'seconds the code stays valid (default 86400 = 24 h)' },
      ...centralOptions,
    },
    help: `Example:
  passgate issuer enroll-code --central-data ./central --terminal gate-north-1 --role turnstile
The code works once. On the terminal: passgate terminal enroll --code CODE --dir DIR --gate GATE`,
    async run(cmd, io) {
      const terminal = str(cmd, 'terminal');
      const role = str(cmd, 'role');
      if (!(ROLES as readonly string[]).includes(role))
        throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${role}"`);
      const ttl = optNum(cmd, 'ttl') ?? DAY;
      if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > 30 * DAY)
        throw new UsageError('--ttl must be whole seconds between 1 and 2592000 (30 days)');
      const client = centralClient(cmd);
      const { code } = await client.request<{ code: string }>('/enroll-codes', {
        terminal,
        role,
        ttlSeconds: ttl,
      });
      const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
      if (io.json) io.out(JSON.stringify({ ok: true, code, terminal, role, expiresAt, central: client.url }));
      else
        io.out(
          `One-time enrollment code for terminal ${terminal} (${role}), valid ${duration(ttl)} (until ${expiresAt}):\n` +
            `  ${code}\n` +
            `Give it to whoever installs the terminal; it works once. On the terminal run:\n` +
            `  passgate terminal enroll --central ${client.url} --code ${code} --dir /var/lib/passgate --gate GATE\n` +
            `then start it with: passgate terminal start --config /var/lib/passgate/terminal.json`,
        );
      return 0;
    },
  },
  {
    name: 'issuer lists',
    summary: 'write the signed trust and revocation lists (and the list key to pin) into a directory',
    options: { dir, out: { type: 'string', required: true, description: 'output directory' } },
    async run(cmd, io) {
      const ks = IssuerKeystore.open(str(cmd, 'dir'));
      const paths = ks.writeLists(str(cmd, 'out'), nowSeconds());
      if (io.json) io.out(JSON.stringify({ ok: true, versions: ks.versions, files: paths }));
      else
        io.out(
          `Wrote trust list v${ks.versions.trust} and revocation list v${ks.versions.revocation} (${ks.revoked.length} revoked, ${ks.suspended.length} suspended) to ${str(cmd, 'out')}\n` +
            `Verify a code against them: passgate verify PAYLOAD --lists ${str(cmd, 'out')}`,
        );
      return 0;
    },
  },
  {
    name: 'issuer export',
    summary: 'print the issuer public keys as JWK and COSE_Key, for outside verifiers',
    options: { dir, jwk: { type: 'boolean', description: 'JWK set only' } },
    async run(cmd, io) {
      const ks = IssuerKeystore.open(str(cmd, 'dir'));
      const { issuer, list } = ks.publicKeys();
      const jwks = { keys: [{ ...issuer.toJwk(), use: 'sig' }] };
      if (cmd.options.jwk) {
        io.out(JSON.stringify(jwks, null, io.json ? undefined : 2));
        return 0;
      }
      const result = {
        issuer: ks.issuer,
        jwks,
        coseKey: toHex(encodeCbor(coseKeyFromPublic(issuer.alg, issuer.publicKey, true))),
        listKey: { ...list.toJwk(), use: 'sig' },
      };
      if (io.json) io.out(JSON.stringify(result));
      else
        io.out(
          `Issuer ${ks.issuer}\nJWK set:\n${JSON.stringify(jwks, null, 2)}\nCOSE_Key (hex): ${result.coseKey}\nList key JWK: ${JSON.stringify(result.listKey)}`,
        );
      return 0;
    },
  },
];
