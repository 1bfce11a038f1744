// Starts a real mosquitto (2.0) for a test on a free port with a password file and an ACL file, and
// collects its log so tests can check what it refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandExists, freePort, requireComponent } from './components.js';
import { waitFor } from './wait.js';

export interface MosquittoBroker {
  port: number;
  url: string;
  log(): string;
  /** SIGHUP: mosquitto re-reads its password and ACL files. */
  reload(): Promise<void>;
  /** Stops mosquitto (SIGTERM, or SIGKILL with `kill`) and starts it again on the same port. */
  restart(opts?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export function mosquittoBinary(): string | undefined {
  if (existsSync('/usr/sbin/mosquitto')) return '/usr/sbin/mosquitto';
  return commandExists('mosquitto') ? 'mosquitto' : undefined;
}

export function haveMosquitto(): boolean {
  return requireComponent(
    'mosquitto broker and clients',
    mosquittoBinary() !== undefined && commandExists('mosquitto_pub'),
    'apt-get install mosquitto mosquitto-clients',
  );
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** passwordFile and aclFile are paths (e.g. written by `central mosquitto-config`). */
export async function startMosquitto(opts: {
  passwordFile: string;
  aclFile: string;
  /**
   * A folder of *.conf files to include (`include_dir`), e.g. the one `central mosquitto-config` writes;
   * its settings then replace the defaults below (no persistence).
   */
  includeDir?: string;
}): Promise<MosquittoBroker> {
  const bin = mosquittoBinary();
  if (!bin) throw new Error('mosquitto is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'passgate-mosq-'));
  const port = await freePort();
  const logFile = join(dir, 'mosquitto.log');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...(opts.includeDir
        ? [`include_dir ${opts.includeDir}`]
        : [
            'allow_anonymous false',
            `password_file ${opts.passwordFile}`,
            `acl_file ${opts.aclFile}`,
            'persistence false',
            // The default (1000) drops QoS 1 messages in a burst.
            'max_queued_messages 0',
            'max_inflight_messages 0',
          ]),
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      '',
    ].join('\n'),
  );
  let stderr = '';
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    const c = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      `mosquitto on port ${port}`,
      async () => c.exitCode === null && (await canConnect(port)),
      10_000,
    ).catch((err: Error) => {
      c.kill('SIGKILL');
      throw new Error(`${err.message}: ${stderr}`);
    });
  };
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  await launch();
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + stderr;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log,
    async reload(): Promise<void> {
      child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 300));
    },
    async restart(o: { kill?: boolean } = {}): Promise<void> {
      await halt(o.kill ? 'SIGKILL' : 'SIGTERM');
      await launch();
    },
    async stop(): Promise<void> {
      await halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
