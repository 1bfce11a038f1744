// `provision config get|set KEY [VALUE]`: one setting of terminal.json by its dotted path, checked against
// the daemon's own schema (terminal/config.ts) before anything is written; a refused value names what is
// allowed. Settings enrollment owns (identity, keys, broker credentials) are not set here.
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { InvalidInput } from '../shared/errors.js';
import { CONFIG_SCHEMA, ConfigError, validateConfig } from '../terminal/config.js';
import { paths } from './terminal-dir.js';
import { dirname } from 'node:path';

/** Set at enrollment; changing them by hand would break the terminal's identity or its link. */
const OWNED_BY_ENROLLMENT = [
  'terminalId',
  'role',
  'dataDir',
  'listPublicKey',
  'signingKeyFile',
  'cardKeyFile',
  'mqtt',
];

interface SchemaNode {
  type?: string;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

function schemaAt(path: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = CONFIG_SCHEMA as unknown as SchemaNode;
  for (const part of path) node = node?.properties?.[part];
  return node;
}

/** What a setting accepts, in words: "one of a, b", "an integer 0-65535", … */
export function allowedValues(key: string): string {
  const node = schemaAt(key.split('.'));
  if (!node) return 'no such setting';
  if (node.enum) return `one of ${node.enum.map(String).join(', ')}`;
  if (node.type === 'object') return `an object with ${Object.keys(node.properties ?? {}).join(', ')}`;
  if (node.type === 'array')
    return `a JSON array${node.items?.enum ? ` of ${node.items.enum.map(String).join(', ')}` : ''}`;
  const lo = node.minimum ?? node.exclusiveMinimum;
  const range = lo !== undefined || node.maximum !== undefined ? ` ${lo ?? ''}-${node.maximum ?? ''}` : '';
  if (node.type === 'integer') return `an integer${range}`;
  if (node.type === 'number') return `a number${range}`;
  if (node.type === 'boolean') return 'true or false';
  return `text${node.pattern ? ` matching ${node.pattern}` : ''}`;
}

function readRaw(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function getPath(obj: unknown, path: string[]): unknown {
  let v: unknown = obj;
  for (const p of path)
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

function checkKey(key: string): string[] {
  if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(key))
    throw new InvalidInput('KEY', `"${key}" is not a setting name such as staleness.warnHours`);
  const path = key.split('.');
  if (!schemaAt(path))
    throw new InvalidInput(
      'KEY',
      `"${key}" is not a setting; top-level settings: ${Object.keys(
        (CONFIG_SCHEMA as unknown as SchemaNode).properties!,
      )
        .filter((k) => k !== '$schema')
        .join(', ')}`,
    );
  return path;
}

/** The setting as written in terminal.json, and as the daemon uses it (with defaults). */
export function configGet(dir: string, key: string): { value: unknown; effective: unknown; allowed: string } {
  const path = checkKey(key);
  const file = paths(dir).config;
  const raw = readRaw(file);
  const effective = getPath(validateConfig(raw, dirname(file)), path);
  return { value: getPath(raw, path), effective, allowed: allowedValues(key) };
}

/** A VALUE from the command line: JSON when it parses (numbers, true/false, arrays), else text. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function configSet(
  dir: string,
  key: string,
  valueText: string,
): { previous: unknown; value: unknown } {
  const path = checkKey(key);
  if (OWNED_BY_ENROLLMENT.includes(path[0]!))
    throw new InvalidInput(
      'KEY',
      `${path[0]} is set by enrollment (identity, keys, broker link): use provision enroll --force or provision rotate`,
    );
  const file = paths(dir).config;
  const raw = readRaw(file);
  const value = parseValue(valueText);
  let parent = raw as Record<string, unknown>;
  for (const p of path.slice(0, -1)) {
    const next = parent[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) parent[p] = {};
    parent = parent[p] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  const previous = parent[last];
  parent[last] = value;
  try {
    validateConfig(raw, dirname(file));
  } catch (err) {
    if (err instanceof ConfigError)
      throw new InvalidInput(
        key,
        `${JSON.stringify(value)} is refused (${err.problems.join('; ')}); allowed: ${allowedValues(key)}`,
      );
    throw err;
  }
  const mode = statSync(file).mode & 0o777;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(raw, null, 2) + '\n', { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
  return { previous, value };
}
