// `passgate`: finds the subcommand, parses its options, runs it, and maps failures to exit codes
// (0 ok, 1 a negative answer such as a denied code, 2 could not do what was asked: usage or input problem).
import { InvalidInput } from '../shared/errors.js';
import { FileProblem } from '../shared/files.js';
import { COMMANDS } from './registry.js';
import {
  CheckFailed,
  UsageError,
  UserError,
  helpText,
  parseCommand,
  type CommandIo,
  type CommandSpec,
} from './command.js';

function overview(): string {
  const lines = ['passgate — offline credential verifier for city services', '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  passgate ${c.name}`.padEnd(40) + c.summary);
  lines.push('', 'Every command takes --help and --json.');
  return lines.join('\n');
}

function findCommand(argv: string[]): { spec: CommandSpec; rest: string[] } | undefined {
  let best: { spec: CommandSpec; rest: string[] } | undefined;
  for (const spec of COMMANDS) {
    const words = spec.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.spec.name.split(' ').length))
      best = { spec, rest: argv.slice(words.length) };
  }
  return best;
}

const FS_CODES: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'it already exists',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
};

/** A file-system error from a path the user gave, in plain words (no stack trace); undefined otherwise. */
function fileSystemProblem(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== 'string' || !(err.code in FS_CODES)) return undefined;
  const what = typeof err.path === 'string' ? err.path : 'a file';
  return `cannot use ${what}: ${FS_CODES[err.code]} (${err.code})`;
}

export async function main(argv: string[], io?: Partial<CommandIo>): Promise<number> {
  const json = argv.includes('--json');
  const out = io?.out ?? ((t: string) => process.stdout.write(t + '\n'));
  const err = io?.err ?? ((t: string) => process.stderr.write(t + '\n'));
  const found = findCommand(argv);
  if (!found) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      out(overview());
      return 0;
    }
    const area = COMMANDS.filter((c) => c.name.startsWith(argv[0] + ' '));
    if (area.length > 0 && (argv.length === 1 || argv[1] === '--help')) {
      out(area.map((c) => `  passgate ${c.name}`.padEnd(40) + c.summary).join('\n'));
      return argv.length === 1 ? 2 : 0;
    }
    err(`passgate: unknown command "${argv.join(' ')}". Run \`passgate --help\` for the list.`);
    return 2;
  }
  const { spec, rest } = found;
  const report = (code: string, message: string, exit: number): number => {
    if (json) out(JSON.stringify({ ok: false, error: code, message }));
    else err(`passgate ${spec.name}: ${message}`);
    return exit;
  };
  try {
    const cmd = parseCommand(spec, rest);
    if (cmd.options.help) {
      out(helpText(spec));
      return 0;
    }
    return await spec.run(cmd, { out, err, json });
  } catch (e) {
    if (e instanceof UsageError)
      return report('usage', `${e.message}. Run \`passgate ${spec.name} --help\`.`, 2);
    if (e instanceof CheckFailed) return report('check_failed', e.message, 1);
    if (e instanceof UserError || e instanceof FileProblem) return report('failed', e.message, 2);
    if (e instanceof InvalidInput || e instanceof RangeError) return report('invalid', e.message, 2);
    const fsProblem = fileSystemProblem(e);
    if (fsProblem) return report('file', fsProblem, 2);
    throw e;
  }
}
