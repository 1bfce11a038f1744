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
      'allow_anonymous false',
      `password_file ${opts.passwordFile}`,
      `acl_file ${opts.aclFile}`,
      'persistence false',
      // The default (1000) drops QoS 1 messages in a burst.
      'max_queued_messages 0',
      'max_inflight_messages 0',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(
    `mosquitto on port ${port}`,
    async () => child.exitCode === null && (await canConnect(port)),
    10_000,
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}: ${stderr}`);
  });
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + stderr;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log,
    async reload(): Promise<void> {
      child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 300));
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
