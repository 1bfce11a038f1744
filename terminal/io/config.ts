// The `inputs` and `outputs` lists of the terminal config: one JSON Schema branch per device type
// (Ajv's discriminator on `type`, so an error names the entry and the field of its own type), the
// defaults every entry gets, and the migration of the old one-object `inputs` form.
import type { Direction } from '../../shared/ids.js';

export const INPUT_TYPES = ['stdin', 'tcp', 'serial', 'hid', 'pcsc'] as const;
export const OUTPUT_TYPES = ['console', 'serial-relay', 'gpio', 'led'] as const;
export type InputType = (typeof INPUT_TYPES)[number];
export type OutputType = (typeof OUTPUT_TYPES)[number];

export interface LineHygieneConfig {
  maxLineLength: number;
  repeatIgnoreMs: number;
}
interface InputBase {
  /** Unique per terminal; shown in health, metrics, events and logs. Default: the type (+ a number). */
  name: string;
  /** The direction this input serves; default the terminal's first direction. */
  direction?: Direction;
}
export type StdinInputConfig = InputBase & LineHygieneConfig & { type: 'stdin' };
export type TcpInputConfig = InputBase & LineHygieneConfig & { type: 'tcp'; port: number; host: string };
/** End of a scanner line: `auto` takes CR, LF or CR LF. */
export type Terminator = 'auto' | 'cr' | 'lf' | 'crlf' | 'tab';
export type SerialInputConfig = InputBase &
  LineHygieneConfig & {
    type: 'serial';
    path: string;
    baudRate: number;
    terminator: Terminator;
    /** Stripped from the start/end of each line when present (scanner-programmed framing). */
    prefix: string;
    suffix: string;
    /** What a line is: a wallet code (default) or an item barcode (library kiosk). */
    scan: 'qr' | 'barcode';
    reopenMs: number;
  };
export type HidInputConfig = InputBase &
  LineHygieneConfig & {
    type: 'hid';
    vendorId?: number;
    productId?: number;
    path?: string;
    /** `keyboard`: a keyboard-wedge scanner's boot reports; `pos`: HID POS barcode scanner (usage page 0x8C). */
    mode: 'keyboard' | 'pos';
    terminator: 'enter' | 'tab';
    /** Keyboard layout overrides: HID usage (decimal) → [unshifted, shifted] characters. US layout otherwise. */
    layout: Record<string, [string, string]>;
    prefix: string;
    suffix: string;
    scan: 'qr' | 'barcode';
    reopenMs: number;
  };
export type PcscInputConfig = InputBase & {
  type: 'pcsc';
  /** Only readers whose name starts with this (default: every reader). */
  reader?: string;
  /** The PC/SC host is restarted when it has not answered for this long. */
  watchdogMs: number;
};
export type InputConfig =
  StdinInputConfig | TcpInputConfig | SerialInputConfig | HidInputConfig | PcscInputConfig;

/** What the gate does while its output is gone: stay shut (`locked`) or be wired to release (`open`). */
export type FailMode = 'locked' | 'open';
interface OutputBase {
  name: string;
}
export type ConsoleOutputConfig = OutputBase & { type: 'console' };
export type SerialRelayOutputConfig = OutputBase & {
  type: 'serial-relay';
  path: string;
  baudRate: number;
  /** Relay channel on the board (1-8). */
  channel: number;
  pulseMs: number;
  failMode: FailMode;
  reopenMs: number;
};
export type GpioOutputConfig = OutputBase & {
  type: 'gpio';
  chip: string;
  line: number;
  activeLow: boolean;
  pulseMs: number;
  failMode: FailMode;
  /** sysfs GPIO base folder, used when libgpiod's gpioset is missing. */
  sysfsBase: string;
};
/** Alternating on/off durations in ms, starting with on. */
export type Blink = number[];
export type LedOutputConfig = OutputBase & {
  type: 'led';
  chip: string;
  lines: { green?: number; red?: number; buzzer?: number };
  activeLow: boolean;
  patterns: { accept: Partial<Record<LedChannel, Blink>>; deny: Partial<Record<LedChannel, Blink>> };
  sysfsBase: string;
};
export type LedChannel = 'green' | 'red' | 'buzzer';
export type OutputConfig = ConsoleOutputConfig | SerialRelayOutputConfig | GpioOutputConfig | LedOutputConfig;

const port = { type: 'integer', minimum: 0, maximum: 65535 };
const loopback = { type: 'string', enum: ['127.0.0.1', 'localhost', '::1'] };
const usb16 = { type: 'integer', minimum: 0, maximum: 0xffff };
const scanKind = { type: 'string', enum: ['qr', 'barcode'] };
const affix = { type: 'string', maxLength: 16 };
const ms = (max: number) => ({ type: 'integer', minimum: 1, maximum: max });
const common = {
  type: { type: 'string' },
  name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,32}$' },
  direction: { type: 'string', enum: ['in', 'out'] },
};
const hygiene = {
  maxLineLength: { type: 'integer', minimum: 64, maximum: 65_536 },
  repeatIgnoreMs: { type: 'integer', minimum: 0, maximum: 60_000 },
};
const baudRate = { type: 'integer', enum: [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] };
const failMode = { type: 'string', enum: ['locked', 'open'] };
const gpioChip = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' };
const gpioLine = { type: 'integer', minimum: 0, maximum: 1023 };
const blink = { type: 'array', minItems: 1, maxItems: 16, items: ms(10_000) };
const ledPattern = {
  type: 'object',
  additionalProperties: false,
  properties: { green: blink, red: blink, buzzer: blink },
};

function branch(type: string, properties: Record<string, unknown>, required: string[] = []) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...required],
    properties: { ...properties, type: { const: type } },
  };
}

export const INPUTS_SCHEMA = {
  type: 'array',
  maxItems: 16,
  items: {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string' } },
    discriminator: { propertyName: 'type' },
    oneOf: [
      branch('stdin', { ...common, ...hygiene }),
      branch('tcp', { ...common, ...hygiene, port, host: loopback }, ['port']),
      branch(
        'serial',
        {
          ...common,
          ...hygiene,
          path: { type: 'string', minLength: 1 },
          baudRate,
          terminator: { type: 'string', enum: ['auto', 'cr', 'lf', 'crlf', 'tab'] },
          prefix: affix,
          suffix: affix,
          scan: scanKind,
          reopenMs: ms(60_000),
        },
        ['path'],
      ),
      branch('hid', {
        ...common,
        ...hygiene,
        vendorId: usb16,
        productId: usb16,
        path: { type: 'string', minLength: 1 },
        mode: { type: 'string', enum: ['keyboard', 'pos'] },
        terminator: { type: 'string', enum: ['enter', 'tab'] },
        layout: {
          type: 'object',
          propertyNames: { pattern: '^[0-9]{1,3}$' },
          additionalProperties: {
            type: 'array',
            minItems: 2,
            maxItems: 2,
            items: { type: 'string', minLength: 1, maxLength: 1 },
          },
        },
        prefix: affix,
        suffix: affix,
        scan: scanKind,
        reopenMs: ms(60_000),
      }),
      branch('pcsc', {
        ...common,
        reader: { type: 'string', minLength: 1, maxLength: 128 },
        watchdogMs: { type: 'integer', minimum: 1000, maximum: 60_000 },
      }),
    ],
  },
} as const;

export const OUTPUTS_SCHEMA = {
  type: 'array',
  maxItems: 8,
  items: {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string' } },
    discriminator: { propertyName: 'type' },
    oneOf: [
      branch('console', { type: common.type, name: common.name }),
      branch(
        'serial-relay',
        {
          type: common.type,
          name: common.name,
          path: { type: 'string', minLength: 1 },
          baudRate,
          channel: { type: 'integer', minimum: 1, maximum: 8 },
          pulseMs: ms(30_000),
          failMode,
          reopenMs: ms(60_000),
        },
        ['path'],
      ),
      branch(
        'gpio',
        {
          type: common.type,
          name: common.name,
          chip: gpioChip,
          line: gpioLine,
          activeLow: { type: 'boolean' },
          pulseMs: ms(30_000),
          failMode,
          sysfsBase: { type: 'string', minLength: 1 },
        },
        ['line'],
      ),
      branch(
        'led',
        {
          type: common.type,
          name: common.name,
          chip: gpioChip,
          lines: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: { green: gpioLine, red: gpioLine, buzzer: gpioLine },
          },
          activeLow: { type: 'boolean' },
          patterns: {
            type: 'object',
            additionalProperties: false,
            properties: { accept: ledPattern, deny: ledPattern },
          },
          sysfsBase: { type: 'string', minLength: 1 },
        },
        ['lines'],
      ),
    ],
  },
} as const;

/** The pre-list form: `inputs: {stdin, tcp: {port, host}, maxLineLength, repeatIgnoreMs}`. */
interface LegacyInputs {
  stdin?: boolean;
  tcp?: { port: number; host?: string };
  maxLineLength?: number;
  repeatIgnoreMs?: number;
}

export const LEGACY_INPUTS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    stdin: { type: 'boolean' },
    tcp: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      properties: { port, host: loopback },
    },
    ...hygiene,
  },
} as const;

/** Rewrites the old object form as the list it means (same hygiene on each line input). */
export function migrateLegacyInputs(old: LegacyInputs): Array<Record<string, unknown>> {
  const shared: Record<string, unknown> = {};
  if (old.maxLineLength !== undefined) shared.maxLineLength = old.maxLineLength;
  if (old.repeatIgnoreMs !== undefined) shared.repeatIgnoreMs = old.repeatIgnoreMs;
  const list: Array<Record<string, unknown>> = [];
  if (old.tcp)
    list.push({
      type: 'tcp',
      port: old.tcp.port,
      ...(old.tcp.host ? { host: old.tcp.host } : {}),
      ...shared,
    });
  if (old.stdin) list.push({ type: 'stdin', ...shared });
  return list;
}

export const DEFAULT_LED_PATTERNS: LedOutputConfig['patterns'] = {
  accept: { green: [1000], buzzer: [80] },
  deny: { red: [1000], buzzer: [80, 80, 80, 80, 80] },
};

type Raw = Record<string, unknown>;

/** Fills defaults and unique names. Entries have already passed the schema. */
export function normalizeInputs(raw: Raw[], resolvePath: (p: string) => string): InputConfig[] {
  const names = uniqueNames(raw);
  return raw.map((r, i): InputConfig => {
    const base = { name: names[i]!, ...(r.direction ? { direction: r.direction as Direction } : {}) };
    const lines = {
      maxLineLength: (r.maxLineLength as number | undefined) ?? 4096,
      repeatIgnoreMs: (r.repeatIgnoreMs as number | undefined) ?? 1500,
    };
    const framing = {
      prefix: (r.prefix as string | undefined) ?? '',
      suffix: (r.suffix as string | undefined) ?? '',
      scan: (r.scan as 'qr' | 'barcode' | undefined) ?? 'qr',
      reopenMs: (r.reopenMs as number | undefined) ?? 1000,
    };
    switch (r.type as InputType) {
      case 'stdin':
        return { type: 'stdin', ...base, ...lines };
      case 'tcp':
        return {
          type: 'tcp',
          ...base,
          ...lines,
          port: r.port as number,
          host: (r.host as string) ?? '127.0.0.1',
        };
      case 'serial':
        return {
          type: 'serial',
          ...base,
          ...lines,
          ...framing,
          path: resolvePath(r.path as string),
          baudRate: (r.baudRate as number | undefined) ?? 9600,
          terminator: (r.terminator as Terminator | undefined) ?? 'auto',
        };
      case 'hid':
        return {
          type: 'hid',
          ...base,
          ...lines,
          ...framing,
          ...(r.vendorId !== undefined ? { vendorId: r.vendorId as number } : {}),
          ...(r.productId !== undefined ? { productId: r.productId as number } : {}),
          ...(r.path !== undefined ? { path: r.path as string } : {}),
          mode: (r.mode as 'keyboard' | 'pos' | undefined) ?? 'keyboard',
          terminator: (r.terminator as 'enter' | 'tab' | undefined) ?? 'enter',
          layout: (r.layout as Record<string, [string, string]> | undefined) ?? {},
        };
      case 'pcsc':
        return {
          type: 'pcsc',
          ...base,
          ...(r.reader ? { reader: r.reader as string } : {}),
          watchdogMs: (r.watchdogMs as number | undefined) ?? 5000,
        };
    }
  });
}

export function normalizeOutputs(raw: Raw[], resolvePath: (p: string) => string): OutputConfig[] {
  const names = uniqueNames(raw);
  return raw.map((r, i): OutputConfig => {
    const name = names[i]!;
    const gpio = {
      chip: (r.chip as string | undefined) ?? 'gpiochip0',
      activeLow: (r.activeLow as boolean | undefined) ?? false,
      sysfsBase: (r.sysfsBase as string | undefined) ?? '/sys/class/gpio',
    };
    switch (r.type as OutputType) {
      case 'console':
        return { type: 'console', name };
      case 'serial-relay':
        return {
          type: 'serial-relay',
          name,
          path: resolvePath(r.path as string),
          baudRate: (r.baudRate as number | undefined) ?? 9600,
          channel: (r.channel as number | undefined) ?? 1,
          pulseMs: (r.pulseMs as number | undefined) ?? 1000,
          failMode: (r.failMode as FailMode | undefined) ?? 'locked',
          reopenMs: (r.reopenMs as number | undefined) ?? 1000,
        };
      case 'gpio':
        return {
          type: 'gpio',
          name,
          ...gpio,
          line: r.line as number,
          pulseMs: (r.pulseMs as number | undefined) ?? 1000,
          failMode: (r.failMode as FailMode | undefined) ?? 'locked',
        };
      case 'led': {
        const p = (r.patterns as Partial<LedOutputConfig['patterns']> | undefined) ?? {};
        return {
          type: 'led',
          name,
          ...gpio,
          lines: r.lines as LedOutputConfig['lines'],
          patterns: {
            accept: p.accept ?? DEFAULT_LED_PATTERNS.accept,
            deny: p.deny ?? DEFAULT_LED_PATTERNS.deny,
          },
        };
      }
    }
  });
}

/** Names as given; unnamed entries are called by their type, numbered when the type repeats. */
function uniqueNames(raw: Raw[]): string[] {
  const count = new Map<string, number>();
  for (const r of raw) count.set(r.type as string, (count.get(r.type as string) ?? 0) + 1);
  const seen = new Map<string, number>();
  return raw.map((r) => {
    if (typeof r.name === 'string') return r.name;
    const t = r.type as string;
    const n = (seen.get(t) ?? 0) + 1;
    seen.set(t, n);
    return (count.get(t) ?? 0) > 1 ? `${t}-${n}` : t;
  });
}

/** Problems the schema cannot express: duplicate names, an HID entry selecting no device. */
export function crossCheck(inputs: InputConfig[], outputs: OutputConfig[]): string[] {
  const problems: string[] = [];
  const dup = (list: Array<{ name: string }>, field: string) => {
    const seen = new Set<string>();
    list.forEach((e, i) => {
      if (seen.has(e.name))
        problems.push(`${field}.${i}.name: "${e.name}" is used twice (names must be unique)`);
      seen.add(e.name);
    });
  };
  dup(inputs, 'inputs');
  dup(outputs, 'outputs');
  inputs.forEach((e, i) => {
    if (e.type === 'hid' && e.path === undefined && (e.vendorId === undefined || e.productId === undefined))
      problems.push(`inputs.${i}: an hid input needs path, or vendorId and productId`);
  });
  if (inputs.filter((e) => e.type === 'stdin').length > 1)
    problems.push('inputs: only one stdin input can exist');
  return problems;
}
