// `passgate issuer …`: keys, credentials, revocation and signed lists, kept in a directory.
import { IssuerKeystore } from '../../issuer/keystore.js';
import { toHex } from '../../shared/bytes.js';
import { coseKeyFromPublic, keyId, type Alg } from '../../shared/keys.js';
import { encodeCbor } from '../../shared/cbor.js';
import { Wallet } from '../../wallet/wallet.js';
import { assertRole, assertSubject, assertTerminalId, ROLES } from '../../shared/ids.js';
import { centralClient, centralOptions } from '../central-client.js';
import {
  UsageError,
  optNum,
  optStr,
  str,
  strs,
  type CommandIo,
  type CommandSpec,
  type OptionSpec,
  type ParsedCommand,
} from '../command.js';
import { formatEntitlement, parseEntitlement } from './entitlements.js';
import { parseUid } from '../../shared/cards.js';
import { isSubject } from '../../shared/ids.js';

const dir = { type: 'string', required: true, description: 'issuer directory (keys and state)' } as const;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** `--dir` (the issuer folder) or a running central (`--central-data DIR` or `--central URL`), one of them. */
const dirOrCentral = {
  dir: { type: 'string', description: 'issuer directory (keys and state); or use --central-data' },
  ...centralOptions,
} as const;

function target(cmd: ParsedCommand): 'dir' | 'central' {
  const hasDir = optStr(cmd, 'dir') !== undefined;
  const hasCentral = optStr(cmd, 'central') !== undefined || optStr(cmd, 'central-data') !== undefined;
  if (hasDir === hasCentral)
    throw new UsageError(
      'give one of --dir DIR (change the issuer folder) or --central-data DIR / --central URL (change a running central)',
    );
  if (hasDir && optStr(cmd, 'token') !== undefined)
    throw new UsageError('--token goes with --central URL, not with --dir');
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
  if (change.field === 'sub') assertSubject(value, '--sub');
  else if (!/^[0-9a-fA-F]{32}$/.test(value))
    throw new UsageError(`--cti must be the credential serial, 32 hex digits, got "${value}"`);
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

const CARD_ROUTES = { bind: '/cards/bind', block: '/cards/block', unbind: '/cards/unbind' } as const;
const CARD_VERBS = { bind: 'Bound', block: 'Blocked', unbind: 'Unbound' } as const;

/** `issuer card bind|block|unbind`: the same change in the issuer folder or at a running central. */
function cardCommand(op: 'bind' | 'block' | 'unbind'): CommandSpec {
  const binding = op === 'bind';
  return {
    name: `issuer card ${op}`,
    summary:
      op === 'bind'
        ? 'bind a contactless card (by UID) to a member, with what it entitles'
        : op === 'block'
          ? 'block a bound card (reported lost): terminals deny it with card_blocked'
          : 'remove a card binding: terminals deny it with card_unknown',
    options: {
      ...dirOrCentral,
      uid: { type: 'string', required: true, description: 'card UID in hex (4, 7 or 10 bytes)' },
      ...(binding
        ? {
            sub: { type: 'string', required: true, description: 'member pseudonym' },
            ent: {
              type: 'strings',
              description: 'entitlement KIND[:ID][:class=C][:loans=N] (none: opens nothing)',
            },
            days: { type: 'number', description: 'binding valid this many days (default: no expiry)' },
          }
        : {}),
    } as Record<string, OptionSpec>,
    help: `Examples:
  passgate issuer card ${op} --dir ./issuer --uid 04A1B2C3${binding ? ' --sub p-7f3a --ent venue:zoo' : ''}
  passgate issuer card ${op} --central http://127.0.0.1:8480 --central-data ./central --uid 04A1B2C3${binding ? ' --sub p-7f3a --ent venue:zoo' : ''}
The UID is hashed with the fleet card key before it is stored or published; terminals never see it.
A UID-only card can be cloned: see docs/hardware.md.`,
    async run(cmd, io) {
      const uidText = str(cmd, 'uid');
      const uid = parseUid(uidText);
      if (!uid) throw new UsageError('--uid must be a card UID of 4, 7 or 10 bytes in hex, e.g. 04A1B2C3');
      const sub = binding ? str(cmd, 'sub') : undefined;
      if (sub !== undefined && !isSubject(sub))
        throw new UsageError('--sub must be a pseudonym of 3-64 letters, digits or _.:-');
      const ent = binding ? strs(cmd, 'ent').map((text) => parseEntitlement(text)) : [];
      const days = optNum(cmd, 'days');
      if (days !== undefined && !(days > 0 && days <= 3650))
        throw new UsageError('--days must be more than 0 and at most 3650');
      const exp = days !== undefined ? nowSeconds() + Math.round(days * DAY) : undefined;
      const shown = `card ${uidText.slice(0, 4).toUpperCase()}…`;
      if (target(cmd) === 'central') {
        const client = centralClient(cmd);
        const { version } = await client.request<{ version: number }>(CARD_ROUTES[op], {
          uid: uidText,
          ...(binding ? { sub, ent, ...(exp !== undefined ? { exp } : {}) } : {}),
        });
        if (io.json) io.out(JSON.stringify({ ok: true, central: client.url, cardsVersion: version }));
        else
          io.out(
            `${CARD_VERBS[op]} ${shown} at central; cards list is now version ${version} and is on its way to the terminals.`,
          );
        return 0;
      }
      const ks = IssuerKeystore.open(str(cmd, 'dir'));
      const changed = ks.changeCard(
        uid,
        binding
          ? { op: 'bind', sub: sub!, ent, ...(exp !== undefined ? { exp } : {}) }
          : { op: op as 'block' | 'unbind' },
      );
      const version = ks.versions.cards ?? 1;
      if (io.json) io.out(JSON.stringify({ ok: true, changed, cardsVersion: version }));
      else
        io.out(
          changed
            ? `${CARD_VERBS[op]} ${shown}; cards list is now version ${version}. Publish it with \`passgate issuer lists\`.`
            : `${shown} was already ${CARD_VERBS[op].toLowerCase()} like that; nothing changed.`,
        );
      return 0;
    },
  };
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
      quiet: {
        type: 'boolean',
        description: 'print only the credential serial, e.g. SERIAL=$(passgate issuer issue … --quiet)',
      },
    },
    async run(cmd, io) {
      const sub = str(cmd, 'sub');
      assertSubject(sub, '--sub');
      const days = optNum(cmd, 'days') ?? 30;
      if (!(days > 0 && days <= 3650))
        throw new UsageError(`--days is the validity in days: more than 0 and at most 3650, got ${days}`);
      const ent = strs(cmd, 'ent').map((e) => parseEntitlement(e));
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
      if (io.json)
        io.out(JSON.stringify({ ok: true, ...record, serial: record.cti, bytes: credential.length }));
      else if (cmd.options.quiet) io.out(record.cti);
      else
        io.out(
          `Issued a credential to ${sub} (${ent.map(formatEntitlement).join(', ')}), valid until ${new Date(record.exp * 1000).toISOString()}\n` +
            `  credential serial (--cti): ${record.cti}\n` +
            `Stored in wallet ${wallet.path}. Show it with: passgate wallet present --file ${wallet.path}\n` +
            `Revoke it with: passgate issuer revoke --cti ${record.cti} --central-data DIR (or --dir ${str(cmd, 'dir')})`,
        );
      return 0;
    },
  },
  {
    name: 'issuer revoke',
    summary: 'revoke a credential by serial (cti): in the issuer folder, or at a running central',
    options: {
      ...dirOrCentral,
      cti: {
        type: 'string',
        required: true,
        description: 'credential serial (cti), 32 hex digits, as `issuer issue` prints it',
      },
    },
    help: `Examples:
  passgate issuer revoke --dir ./issuer --cti 00112233445566778899aabbccddeeff
  passgate issuer revoke --central-data ./central --cti 0011…eeff
With --central-data (or --central URL) the change is published to every connected terminal at once (a signed delta).`,
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
  passgate issuer suspend --central-data ./central --sub p-7f3a`,
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
      quiet: {
        type: 'boolean',
        description: 'print only the code, e.g. CODE=$(passgate issuer enroll-code … --quiet)',
      },
      ...centralOptions,
    },
    help: `Example:
  passgate issuer enroll-code --central-data ./central --terminal gate-north-1 --role turnstile
The code works once. On the terminal: passgate terminal enroll --code CODE --dir DIR --gate GATE`,
    async run(cmd, io) {
      const terminal = str(cmd, 'terminal');
      assertTerminalId(terminal, '--terminal');
      const role = str(cmd, 'role');
      assertRole(role, '--role');
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
      else if (cmd.options.quiet) io.out(code);
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
    summary: 'write the signed trust, revocation and cards lists (and the list key to pin) into a directory',
    options: { dir, out: { type: 'string', required: true, description: 'output directory' } },
    async run(cmd, io) {
      const ks = IssuerKeystore.open(str(cmd, 'dir'));
      const paths = ks.writeLists(str(cmd, 'out'), nowSeconds());
      if (io.json) io.out(JSON.stringify({ ok: true, versions: ks.versions, files: paths }));
      else
        io.out(
          `Wrote trust list v${ks.versions.trust}, revocation list v${ks.versions.revocation} (${ks.revoked.length} revoked, ${ks.suspended.length} suspended) and cards list v${ks.versions.cards ?? 1} (${ks.cards.length} cards) to ${str(cmd, 'out')}\n` +
            `Verify a code against them: passgate verify PAYLOAD --lists ${str(cmd, 'out')}`,
        );
      return 0;
    },
  },
  cardCommand('bind'),
  cardCommand('block'),
  cardCommand('unbind'),
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
