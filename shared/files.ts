// Reading and writing the small JSON files keys and state live in. Secrets are written 0600, atomically.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeJsonAtomic(path: string, value: unknown, secret = false): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: secret ? 0o600 : 0o644 });
  if (secret) chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function writeBytesAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** Reads a JSON file; throws an Error whose message says which file and what is wrong with it. */
export function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new FileProblem(`${what} not found at ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FileProblem(`${what} at ${path} is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * The one reader for side files (keys, runtime records, folder bindings): the file must hold a JSON
 * object; anything else is a FileProblem naming the file, never a raw parser stack trace.
 */
export function readJsonObject(path: string, what: string): Record<string, unknown> {
  const v = readJson(path, what);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new FileProblem(`${what} at ${path} is not a JSON object`);
  return v as Record<string, unknown>;
}

export class FileProblem extends Error {
  override name = 'FileProblem';
}
