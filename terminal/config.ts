// Terminal configuration: one JSON Schema compiled with Ajv (all errors at once, each naming its path),
// role-based defaults, and loading from a file with relative paths resolved against the file's folder.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import {
  assertTerminalId,
  DIRECTIONS,
  GATE_PATTERN,
  ROLES,
  TERMINAL_ID_PATTERN,
  type Direction,
  type Role,
} from '../shared/ids.js';
import {
  crossCheck,
  INPUTS_SCHEMA,
  LEGACY_INPUTS_SCHEMA,
  migrateLegacyInputs,
  normalizeInputs,
  normalizeOutputs,
  OUTPUTS_SCHEMA,
  type InputConfig,
  type OutputConfig,
} from './io/config.js';

// The vocabulary lives in shared/ids.ts; re-exported for the daemon's modules.
export { ROLES, type Direction, type Role };

export interface TerminalConfig {
  terminalId: string;
  role: Role;
  gate: string;
  /** Directions this gate serves; the first is the default for a line without a direction prefix. */
  directions: Direction[];
  /** Folder holding terminal.db (created when missing). */
  dataDir: string;
  /** Pinned list public key (Ed25519, 64 hex characters): signs lists and time beacons. */
  listPublicKey: string;
  /** The terminal's own Ed25519 key file (JSON {alg, secretKey, publicKey}); signs event batches. */
  signingKeyFile: string;
  /** Optional fleet card key file (64 hex characters): HMAC-SHA-256 key for card UIDs. */
  cardKeyFile?: string;
  requirement: { k: string; v?: string; c?: string[] };
  verify: { windowSeconds: number; skewSeconds: number };
  /** Same subject through the same gate in the same direction within this many seconds is refused; 0 turns it off. */
  antiPassbackSeconds: number;
  /** Maximum occupancy counted by this terminal (entries − exits); 0 means unlimited. */
  capacity: number;
  clock: {
    /** When the clock is untrusted: accept anyway (true) or refuse with clock_untrusted (false). */
    failOpen: boolean;
    /** A beacon older than this leaves the clock degraded rather than trusted. */
    beaconMaxAgeHours: number;
  };
  staleness: { warnHours: number; failHours: number; failOpen: boolean };
  /** Devices that produce scans, started in this order (terminal/io/registry.ts). */
  inputs: InputConfig[];
  /** Devices a decision drives, after its event is committed; default one console output. */
  outputs: OutputConfig[];
  /** Things worth telling the operator at start (an old config form that was migrated). */
  notes: string[];
  http: { port: number; host: string };
  /** caFile: PEM certificate(s) to trust for an mqtts:// broker with a private or self-signed certificate. */
  mqtt?: { url: string; username?: string; passwordFile?: string; caFile?: string };
  log: { level: string };
  /** Role kiosk (terminal/kiosk/): session timing, the screen page on loopback, a receipt printer, an ILS. */
  kiosk: KioskConfig;
}

export interface KioskConfig {
  idleTimeoutSeconds: number;
  receiptSeconds: number;
  /** The kiosk screen page (GET /, /events): loopback only; 0 = any free port. */
  screen?: { port: number; host: string };
  /** ESC/POS receipt printer on a serial port. */
  printer?: { path: string; baudRate: number; chinese: 'big5' | 'ascii' };
  /** Forward loans and returns to an ILS over SIP2 when it answers. */
  sip2?: {
    host: string;
    port: number;
    institution: string;
    location: string;
    user?: string;
    passwordFile?: string;
  };
}

const DEFAULT_REQUIREMENT: Record<Role, { k: string }> = {
  turnstile: { k: 'venue' },
  kiosk: { k: 'library' },
  counter: { k: 'concession' },
};

const port = { type: 'integer', minimum: 0, maximum: 65535 };
const host = { type: 'string', enum: ['127.0.0.1', 'localhost', '::1'] };
const hours = { type: 'number', exclusiveMinimum: 0, maximum: 24 * 365 };

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['terminalId', 'role', 'gate', 'dataDir', 'listPublicKey', 'signingKeyFile'],
  properties: {
    $schema: { type: 'string' },
    terminalId: { type: 'string', pattern: TERMINAL_ID_PATTERN },
    role: { type: 'string', enum: [...ROLES] },
    gate: { type: 'string', pattern: GATE_PATTERN },
    directions: {
      type: 'array',
      minItems: 1,
      maxItems: 2,
      uniqueItems: true,
      items: { type: 'string', enum: [...DIRECTIONS] },
    },
    dataDir: { type: 'string', minLength: 1 },
    listPublicKey: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
    signingKeyFile: { type: 'string', minLength: 1 },
    cardKeyFile: { type: 'string', minLength: 1 },
    requirement: {
      type: 'object',
      additionalProperties: false,
      required: ['k'],
      properties: {
        k: { type: 'string', minLength: 1, maxLength: 32 },
        v: { type: 'string', minLength: 1, maxLength: 64 },
        c: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
      },
    },
    verify: {
      type: 'object',
      additionalProperties: false,
      properties: {
        windowSeconds: { type: 'integer', minimum: 1, maximum: 600 },
        skewSeconds: { type: 'integer', minimum: 0, maximum: 600 },
      },
    },
    antiPassbackSeconds: { type: 'integer', minimum: 0, maximum: 86_400 },
    capacity: { type: 'integer', minimum: 0 },
    clock: {
      type: 'object',
      additionalProperties: false,
      properties: { failOpen: { type: 'boolean' }, beaconMaxAgeHours: hours },
    },
    staleness: {
      type: 'object',
      additionalProperties: false,
      properties: { warnHours: hours, failHours: hours, failOpen: { type: 'boolean' } },
    },
    // A list (one entry per device); the old one-object form is still read and migrated.
    inputs: { oneOf: [INPUTS_SCHEMA, LEGACY_INPUTS_SCHEMA] },
    outputs: OUTPUTS_SCHEMA,
    http: {
      type: 'object',
      additionalProperties: false,
      properties: { port, host },
    },
    mqtt: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^(mqtt|mqtts|ws|wss)://' },
        username: { type: 'string', minLength: 1 },
        passwordFile: { type: 'string', minLength: 1 },
        caFile: { type: 'string', minLength: 1 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
      },
    },
    kiosk: {
      type: 'object',
      additionalProperties: false,
      properties: {
        idleTimeoutSeconds: { type: 'integer', minimum: 5, maximum: 3600 },
        receiptSeconds: { type: 'integer', minimum: 1, maximum: 600 },
        screen: {
          type: 'object',
          additionalProperties: false,
          required: ['port'],
          properties: { port, host },
        },
        printer: {
          type: 'object',
          additionalProperties: false,
          required: ['path'],
          properties: {
            path: { type: 'string', minLength: 1 },
            baudRate: { type: 'integer', minimum: 1200, maximum: 921_600 },
            chinese: { type: 'string', enum: ['big5', 'ascii'] },
          },
        },
        sip2: {
          type: 'object',
          additionalProperties: false,
          required: ['host', 'port', 'institution'],
          properties: {
            host: { type: 'string', minLength: 1, maxLength: 253 },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            institution: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[^|\\r\\n]+$' },
            location: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[^|\\r\\n]+$' },
            user: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[^|\\r\\n]+$' },
            passwordFile: { type: 'string', minLength: 1 },
          },
        },
      },
    },
  },
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

const ajv = new Ajv({ allErrors: true, strict: true, discriminator: true });
const validateSchema = ajv.compile(CONFIG_SCHEMA);

/**
 * Ajv reports an `inputs` error against both forms (list and old object); keep the errors of the form
 * the config actually uses, and drop the bookkeeping `oneOf` lines.
 */
function relevant(errors: ErrorObject[], raw: unknown): ErrorObject[] {
  const inputs = (raw as { inputs?: unknown } | null)?.inputs;
  const legacy = inputs !== undefined && !Array.isArray(inputs);
  return errors.filter((e) => {
    if (
      e.keyword === 'oneOf' &&
      (e.instancePath === '/inputs' || /^\/(in|out)puts\/\d+$/.test(e.instancePath))
    )
      return false;
    if (!e.instancePath.startsWith('/inputs')) return true;
    const viaList = e.schemaPath.startsWith('#/properties/inputs/oneOf/0');
    const viaLegacy = e.schemaPath.startsWith('#/properties/inputs/oneOf/1');
    if (e.instancePath === '/inputs' && e.keyword === 'type') return false;
    return legacy ? !viaList : !viaLegacy;
  });
}

function describe(e: ErrorObject): string {
  const path = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
  if (e.keyword === 'additionalProperties')
    return `${path === '(top level)' ? '' : path + '.'}${String(e.params.additionalProperty)}: unknown setting (check the spelling)`;
  if (e.keyword === 'required')
    return `${path === '(top level)' ? '' : path + '.'}${String(e.params.missingProperty)}: is required`;
  if (e.keyword === 'discriminator')
    return e.params.error === 'mapping'
      ? `${path}.type: unknown device type (check the spelling)`
      : `${path}.type: is required`;
  if (e.keyword === 'enum')
    return `${path}: must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
  if (e.keyword === 'pattern' && path === 'listPublicKey')
    return `${path}: must be 64 hex characters (the Ed25519 list public key)`;
  if (e.keyword === 'pattern' && path === 'terminalId')
    return `${path}: must be 1-63 lowercase letters, digits or dashes, starting with a letter or digit`;
  if (e.keyword === 'pattern' && path === 'gate')
    return `${path}: must be 1-64 letters, digits, dot, dash or underscore`;
  return `${path}: ${e.message ?? 'is invalid'}`;
}

/** Validates raw config (already parsed JSON) and fills defaults. Throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, baseDir = process.cwd()): TerminalConfig {
  if (!validateSchema(raw)) {
    const problems = [...new Set(relevant(validateSchema.errors ?? [], raw).map(describe))];
    throw configError(problems);
  }
  const r = raw as Record<string, unknown> & Partial<TerminalConfig>;
  try {
    assertTerminalId(r.terminalId, 'terminalId');
  } catch (err) {
    throw new ConfigError(`terminal config has 1 problem(s):\n  - ${(err as Error).message}`, [
      (err as Error).message,
    ]);
  }
  const role = r.role!;
  const staleness = r.staleness ?? ({} as Partial<TerminalConfig['staleness']>);
  const warnHours = staleness.warnHours ?? 24;
  const failHours = staleness.failHours ?? 72;
  if (failHours < warnHours)
    throw new ConfigError(
      `terminal config has 1 problem(s):\n  - staleness.failHours: must be at least staleness.warnHours`,
      ['staleness.failHours: must be at least staleness.warnHours'],
    );
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const notes: string[] = [];
  let rawInputs = (r.inputs ?? []) as unknown;
  if (!Array.isArray(rawInputs)) {
    rawInputs = migrateLegacyInputs(rawInputs as Parameters<typeof migrateLegacyInputs>[0]);
    notes.push(
      `inputs: the object form is deprecated; write it as a list: "inputs": ${JSON.stringify(rawInputs)}`,
    );
  }
  const inputs = normalizeInputs(rawInputs as Array<Record<string, unknown>>, path);
  const outputs = normalizeOutputs(
    (r.outputs as Array<Record<string, unknown>> | undefined) ?? [{ type: 'console' }],
    path,
  );
  const ioProblems = crossCheck(inputs, outputs);
  if (ioProblems.length > 0) throw configError(ioProblems);
  const config: TerminalConfig = {
    terminalId: r.terminalId!,
    role,
    gate: r.gate!,
    directions: r.directions ?? ['in'],
    dataDir: path(r.dataDir!),
    listPublicKey: r.listPublicKey!.toLowerCase(),
    signingKeyFile: path(r.signingKeyFile!),
    requirement: r.requirement ?? DEFAULT_REQUIREMENT[role],
    verify: { windowSeconds: r.verify?.windowSeconds ?? 30, skewSeconds: r.verify?.skewSeconds ?? 0 },
    antiPassbackSeconds: r.antiPassbackSeconds ?? (role === 'turnstile' ? 300 : 0),
    capacity: r.capacity ?? 0,
    // docs/terminal.md: concessions (counters) fail closed; venues and kiosks fail open with a loud alert.
    clock: {
      failOpen: r.clock?.failOpen ?? role !== 'counter',
      beaconMaxAgeHours: r.clock?.beaconMaxAgeHours ?? 24,
    },
    staleness: { warnHours, failHours, failOpen: staleness.failOpen ?? role !== 'counter' },
    inputs,
    outputs,
    notes,
    http: { port: r.http?.port ?? 0, host: r.http?.host ?? '127.0.0.1' },
    log: { level: r.log?.level ?? 'info' },
    kiosk: kioskConfig(r.kiosk, path),
  };
  if (r.cardKeyFile) config.cardKeyFile = path(r.cardKeyFile);
  if (r.mqtt)
    config.mqtt = {
      url: r.mqtt.url,
      ...(r.mqtt.username ? { username: r.mqtt.username } : {}),
      ...(r.mqtt.passwordFile ? { passwordFile: path(r.mqtt.passwordFile) } : {}),
      ...(r.mqtt.caFile ? { caFile: path(r.mqtt.caFile) } : {}),
    };
  return config;
}

function kioskConfig(k: Partial<KioskConfig> | undefined, path: (p: string) => string): KioskConfig {
  const out: KioskConfig = {
    idleTimeoutSeconds: k?.idleTimeoutSeconds ?? 60,
    receiptSeconds: k?.receiptSeconds ?? 10,
  };
  if (k?.screen) out.screen = { port: k.screen.port, host: k.screen.host ?? '127.0.0.1' };
  if (k?.printer)
    out.printer = {
      path: path(k.printer.path),
      baudRate: k.printer.baudRate ?? 19_200,
      chinese: k.printer.chinese ?? 'big5',
    };
  if (k?.sip2)
    out.sip2 = {
      ...k.sip2,
      location: k.sip2.location ?? k.sip2.institution,
      ...(k.sip2.passwordFile ? { passwordFile: path(k.sip2.passwordFile) } : {}),
    };
  return out;
}

function configError(problems: string[]): ConfigError {
  return new ConfigError(
    `terminal config has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`,
    problems,
  );
}

/** Reads and validates a config file; paths inside it are relative to the file's folder. */
export function loadConfig(file: string): TerminalConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read terminal config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      ['file'],
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`terminal config ${file} is not valid JSON: ${(err as Error).message}`, ['file']);
  }
  try {
    return validateConfig(raw, dirname(resolve(file)));
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${file}: ${err.message}`, err.problems);
    throw err;
  }
}

export function dbPath(config: TerminalConfig): string {
  return resolve(config.dataDir, 'terminal.db');
}
