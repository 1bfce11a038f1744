// The shape every `passgate` subcommand takes, and the argument parsing they share.
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean' | 'number' | 'strings';
  description: string;
  required?: boolean;
  short?: string;
}

export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  json: boolean;
}

export interface ParsedCommand {
  options: Record<string, string | boolean | number | string[] | undefined>;
  positionals: string[];
}

export interface CommandSpec {
  /** Words after `passgate`, such as `issuer init`. */
  name: string;
  summary: string;
  /** Positional arguments, for the usage line, e.g. `PAYLOAD`. */
  args?: string;
  options: Record<string, OptionSpec>;
  /** Extra help text: examples, exit codes. */
  help?: string;
  /** Resolves to the process exit code. */
  run(cmd: ParsedCommand, io: CommandIo): Promise<number>;
}

/** A problem with what the user typed: exit code 2 and a hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the user can fix (missing file, wrong option value …): exit code 2 with a message saying what to do. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Something was checked and is not usable (a damaged database, a bad key file): exit code 1. */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
}

export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, o] of Object.entries(spec.options)) {
    config[name] = {
      type: o.type === 'boolean' ? 'boolean' : 'string',
      ...(o.type === 'strings' ? { multiple: true } : {}),
    };
    if (o.short) config[name]!.short = o.short;
  }
  // `--days -5`: parseArgs takes "-5" for an option; pass it as `--days=-5` so the range check answers.
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([a-z-]+)$/.exec(argv[i]!)?.[1];
    const next = argv[i + 1];
    if (
      name &&
      spec.options[name] &&
      spec.options[name]!.type !== 'boolean' &&
      next !== undefined &&
      /^-\d/.test(next)
    ) {
      joined.push(`--${name}=${next}`);
      i++;
    } else joined.push(argv[i]!);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options: config, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(plainParseError(err as Error & { code?: string }));
  }
  const options = { ...parsed.values } as ParsedCommand['options'];
  if (options.help) return { options, positionals: parsed.positionals };
  for (const [name, o] of Object.entries(spec.options)) {
    const v = options[name];
    if (v === undefined) {
      if (o.required) throw new UsageError(`--${name} is required (${o.description})`);
      continue;
    }
    if (o.type === 'number') {
      const n = Number(v);
      if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n))
        throw new UsageError(`--${name} must be a number, got "${String(v)}"`);
      options[name] = n;
    }
  }
  return { options, positionals: parsed.positionals };
}

/** node:util parseArgs messages, in the CLI's plain words. */
function plainParseError(err: Error & { code?: string }): string {
  const option = /'(-{1,2}[\w-]+)/.exec(err.message)?.[1] ?? 'an option';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /ambiguous/.test(err.message)
        ? `${option} needs a value (a value starting with "-" is written ${option}=VALUE)`
        : /argument missing/.test(err.message)
          ? `${option} needs a value`
          : `${option} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''} (options start with --)`;
    default:
      return err.message.replace(/\. To specify a positional.*$/s, '');
  }
}

export function helpText(spec: CommandSpec): string {
  const lines = [
    `passgate ${spec.name}${spec.args ? ' ' + spec.args : ''} [options]`,
    '',
    spec.summary,
    '',
    'Options:',
  ];
  const entries = Object.entries(spec.options);
  entries.push(['json', { type: 'boolean', description: 'print machine-readable JSON' }]);
  entries.push(['help', { type: 'boolean', description: 'show this help' }]);
  for (const [name, o] of entries) {
    const value =
      o.type === 'boolean'
        ? ''
        : o.type === 'strings'
          ? ' VALUE (repeatable)'
          : o.type === 'number'
            ? ' N'
            : ' VALUE';
    lines.push(`  --${name}${value}`.padEnd(34) + o.description + (o.required ? ' (required)' : ''));
  }
  if (spec.help) lines.push('', spec.help.trim());
  return lines.join('\n');
}

export function str(cmd: ParsedCommand, name: string): string {
  const v = cmd.options[name];
  return typeof v === 'string' ? v : '';
}
export function optStr(cmd: ParsedCommand, name: string): string | undefined {
  const v = cmd.options[name];
  return typeof v === 'string' ? v : undefined;
}
export function optNum(cmd: ParsedCommand, name: string): number | undefined {
  const v = cmd.options[name];
  return typeof v === 'number' ? v : undefined;
}
export function strs(cmd: ParsedCommand, name: string): string[] {
  const v = cmd.options[name];
  return Array.isArray(v) ? v : [];
}
