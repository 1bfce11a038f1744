// A small client for a running central's admin HTTP API, for the CLI commands that talk to central
// (`issuer enroll-code`, `issuer revoke --central`, `terminal enroll` …). Every failure becomes a
// UserError that says what to do next.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../central/admin-token.js';
import { adminUrlFromData } from './central-runtime.js';
import { UsageError, UserError, optStr, type OptionSpec, type ParsedCommand } from './command.js';

export const DEFAULT_CENTRAL_URL = 'http://127.0.0.1:8480';
const TIMEOUT_MS = 15_000;

/** The options every command that talks to central's admin API takes. */
export const centralOptions = {
  'central-data': {
    type: 'string',
    description:
      "central's data folder (as given to `central start --data`): its port and admin token are read there",
  },
  central: {
    type: 'string',
    description: `central admin API URL, when central runs elsewhere (default ${DEFAULT_CENTRAL_URL})`,
  },
  token: { type: 'string', description: 'admin token (default: read from --central-data DIR/admin.token)' },
} satisfies Record<string, OptionSpec>;

export class CentralClient {
  constructor(
    readonly url: string,
    private readonly token: string | undefined,
  ) {}

  /** POST (with a body) or GET (without); resolves to the JSON answer. */
  async request<T>(path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(
        new URL(path, this.url + '/'),
        body === undefined
          ? { headers, signal: AbortSignal.timeout(TIMEOUT_MS) }
          : { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS) },
      );
    } catch {
      throw new UserError(`central is not reachable at ${this.url}: is \`passgate central start\` running?`);
    }
    const text = await res.text();
    let answer: { message?: unknown } = {};
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      // not JSON: reported below by status
    }
    if (res.status === 401) throw new UserError('wrong admin token: pass --central-data DIR or --token');
    if (!res.ok) {
      const message = typeof answer.message === 'string' ? answer.message : text.slice(0, 200);
      if (res.status === 404)
        throw new UserError(`${this.url} is not a passgate central admin API (${message}); check --central`);
      throw new UserError(`central refused the request: ${message}`);
    }
    return answer as T;
  }
}

function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--central must be a URL such as ${DEFAULT_CENTRAL_URL}, got "${url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`--central must be an http:// or https:// URL, got "${url}"`);
  return u.toString().replace(/\/$/, '');
}

export function readAdminToken(dataDir: string): string {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (!existsSync(file))
    throw new UserError(
      `no admin token in ${dataDir} (${ADMIN_TOKEN_FILE}): give the folder central runs with (passgate central start --data DIR), or pass --token`,
    );
  return readFileSync(file, 'utf8').trim();
}

/**
 * A client from `--central-data DIR` (URL from DIR/central.json, token from DIR/admin.token) or `--central
 * URL` (+ `--token`). With `needsToken` (every admin call except the terminal's own enrollment) one of
 * --token or --central-data is required.
 */
export function centralClient(cmd: ParsedCommand, needsToken = true): CentralClient {
  const token = optStr(cmd, 'token');
  const dataDir = optStr(cmd, 'central-data');
  const given = optStr(cmd, 'central');
  const url = checkUrl(given ?? (dataDir !== undefined ? adminUrlFromData(dataDir) : DEFAULT_CENTRAL_URL));
  if (!needsToken) return new CentralClient(url, undefined);
  if (token !== undefined && dataDir !== undefined)
    throw new UsageError('give --token or --central-data, not both');
  if (token !== undefined) return new CentralClient(url, token.trim());
  if (dataDir !== undefined) return new CentralClient(url, readAdminToken(dataDir));
  throw new UsageError(
    "central's admin API needs its token: pass --central-data DIR (central's --data folder) or --token TOKEN",
  );
}
