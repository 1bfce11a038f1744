// `passgate terminal …`: run the daemon, load signed lists without central, recover a damaged store,
// show status, make the terminal's signing key.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../shared/bytes.js';
import { VerifyKey } from '../../shared/keys.js';
import { ListError, openList, type ListType } from '../../shared/lists.js';
import { TerminalClock } from '../../terminal/clock.js';
import { ConfigError, dbPath, loadConfig, type TerminalConfig } from '../../terminal/config.js';
import { startTerminal, type RunningTerminal } from '../../terminal/daemon.js';
import { KeyFileError, writeSigningKey } from '../../terminal/keys.js';
import { applySignedListBytes } from '../../terminal/lists.js';
import { createTerminalLogger } from '../../terminal/logger.js';
import { SystemdNotifier } from '../../terminal/sd-notify.js';
import { buildReport } from '../../terminal/status.js';
import { readJsonObject } from '../../shared/files.js';
import { damagedDatabases } from '../../terminal/store/damaged-files.js';
import { recoverStore, type RecoveryReport } from '../../terminal/store/recover.js';
import { SqliteStore, StoreCorruptError } from '../../terminal/store/sqlite.js';
import {
  CheckFailed,
  UsageError,
  UserError,
  optNum,
  optStr,
  str,
  type CommandIo,
  type CommandSpec,
} from '../command.js';
import { stopSignal } from '../signals.js';
import { enroll } from './terminal-enroll.js';

const configOption = { type: 'string' as const, required: true, description: 'terminal config file (JSON)' };

function config(file: string): TerminalConfig {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(err.message);
    throw err;
  }
}

/**
 * A damaged database or an unusable key file is a check that failed (exit 1, the message says what to
 * do next: `terminal recover`, a new key), not a usage problem (exit 2).
 */
function friendly<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof StoreCorruptError || err instanceof KeyFileError) throw new CheckFailed(err.message);
    throw err;
  }
}

function openStore(c: TerminalConfig): SqliteStore {
  const store = new SqliteStore(dbPath(c));
  friendly(() => store.open());
  return store;
}

function print(io: CommandIo, value: unknown, human: string): void {
  io.out(io.json ? JSON.stringify(value) : human);
}

const TYPE_ORDER: ListType[] = ['trust', 'revocation', 'cards', 'library'];

/** After stdin ended, how long a terminal waits for central to store its events before it stops. */
const DRAIN_ON_EOF_MS = 10_000;

const start: CommandSpec = {
  name: 'terminal start',
  summary: 'run the terminal daemon (inputs → verify → policy → outbox → gate) until stopped',
  options: {
    config: configOption,
    'wait-lists': {
      type: 'number',
      description:
        'before reading input, wait up to N seconds for the lists central announced (for piped codes)',
    },
  },
  help: `
Prints one ready line (with --json: {"ready":true,"tcpPort":…,"httpPort":…}) on stdout, then one line
per decision from the console output. Logs (JSON, one line per decision with its reason code) go to stderr.
Stopping: Ctrl-C or SIGTERM (kill PID). When stdin is the only input, the end of stdin stops it too (a pipe
that closes, Ctrl-D): it first waits up to ${DRAIN_ON_EOF_MS / 1000} s for central to store its events.
Every shutdown step is bounded (2 s), so it stops even when central does not answer; it then says
"terminal stopped". Exit 0 after a stop; 1 when the keys or the database are not usable (a damaged
database: run \`passgate terminal recover\`); 2 for a usage or config problem. The message says why.
Example: passgate wallet present --file w.json | passgate terminal start --config DIR/terminal.json --wait-lists 10`,
  async run(cmd, io) {
    const configFile = str(cmd, 'config');
    const c = config(configFile);
    const waitLists = optNum(cmd, 'wait-lists');
    if (waitLists !== undefined && !(waitLists >= 0 && waitLists <= 3600))
      throw new UsageError('--wait-lists must be seconds from 0 to 3600');
    const logger = createTerminalLogger(c.log.level, c.terminalId);
    let inputsEnded: () => void = () => undefined;
    const ended = new Promise<'eof'>((resolve) => (inputsEnded = () => resolve('eof')));
    let running: RunningTerminal;
    try {
      running = await startTerminal(c, {
        logger,
        onInputsEnded: () => inputsEnded(),
        ...(waitLists !== undefined ? { waitListsMs: waitLists * 1000 } : {}),
      });
    } catch (err) {
      if (err instanceof StoreCorruptError || err instanceof KeyFileError) throw new CheckFailed(err.message);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new UserError(
          `a port in the config is already in use (${(err as Error).message}); pick another or use 0`,
        );
      throw err;
    }
    // For `passgate provision …` (doctor, status, rotate, decommission) and systemd.
    const runtimeFile = join(c.dataDir, 'daemon.json');
    const writeRuntime = () =>
      writeFileSync(
        runtimeFile,
        JSON.stringify({
          pid: process.pid,
          httpPort: running.httpPort,
          ...(running.tcpPort ? { tcpPort: running.tcpPort } : {}),
          startedAt: Date.now(),
        }) + '\n',
      );
    writeRuntime();
    const ready = {
      ready: true,
      terminalId: c.terminalId,
      tcpPort: running.tcpPort ?? null,
      httpPort: running.httpPort,
      ...(running.screenPort !== undefined ? { screenPort: running.screenPort } : {}),
    };
    print(
      io,
      ready,
      `passgate terminal ${c.terminalId} ready (${c.role}, gate ${c.gate})` +
        (running.tcpPort
          ? `; lines on tcp ${c.inputs.find((i) => i.type === 'tcp')?.host ?? '127.0.0.1'}:${running.tcpPort}`
          : '') +
        `; health http://${c.http.host}:${running.httpPort}/healthz; stop with Ctrl-C or kill ${process.pid}`,
    );
    const systemd = new SystemdNotifier(logger);
    await systemd.ready(`gate ${c.gate} ready`);
    systemd.startWatchdog(() => running.store.isOpen);
    // SIGHUP (systemctl reload; provision config set / rotate): the same config → new key and MQTT secret
    // from their files, reconnecting without stopping the gate; a changed config → the daemon restarts in
    // this process with it (a config that does not validate is logged and the running one kept).
    let current = c;
    let reloads = Promise.resolve();
    let restartFailed = false;
    const onHup = () => {
      reloads = reloads.then(async () => {
        let next: TerminalConfig;
        try {
          next = loadConfig(configFile);
        } catch (err) {
          logger.error(
            { err: (err as Error).message },
            'reload refused: the config is not valid; keeping the running one',
          );
          return;
        }
        if (JSON.stringify(next) === JSON.stringify(current)) {
          await running
            .reloadCredentials()
            .catch((err: Error) => logger.error({ err: err.message }, 'reload failed: credentials kept'));
          return;
        }
        await running.stop();
        try {
          running = await startTerminal(next, { logger, onInputsEnded: () => inputsEnded() });
          current = next;
          writeRuntime();
          logger.info('restarted with the changed config');
        } catch (err) {
          // Stopped and could not start again: exit non-zero so the service manager restarts us.
          logger.error({ err: (err as Error).message }, 'restart with the changed config failed: exiting');
          restartFailed = true;
          process.kill(process.pid, 'SIGTERM');
        }
      });
    };
    process.on('SIGHUP', onHup);
    const why = await Promise.race([
      ended,
      stopSignal(() => logger.info('already stopping (every step has a time limit)')),
    ]);
    logger.info({ why }, 'shutting down');
    process.off('SIGHUP', onHup);
    await reloads;
    await systemd.stopping();
    // Input ended (a pipe): hand the decisions to central before going, if there is a central.
    if (why === 'eof' && current.mqtt && !(await running.waitForDrain(DRAIN_ON_EOF_MS)))
      logger.warn({ outboxDepth: running.report().outboxDepth }, 'events still waiting for central');
    const clean = await running.stop();
    rmSync(runtimeFile, { force: true });
    logger.info({ clean }, clean ? 'stopped cleanly' : 'stopped (some steps did not finish in time)');
    if (io.json) io.out(JSON.stringify({ stopped: true, clean }));
    else
      io.out(
        clean ? 'terminal stopped.' : 'terminal stopped (some parts did not finish in time; see the log).',
      );
    return restartFailed ? 1 : 0;
  },
};

const loadLists: CommandSpec = {
  name: 'terminal load-lists',
  summary: 'apply signed lists (*.cose) from a folder to the terminal store, without central',
  options: {
    config: configOption,
    lists: { type: 'string', required: true, description: 'folder with trust.cose, revocation.cose, …' },
  },
  help: `
Snapshots are applied before deltas, each atomically, with anti-rollback (an older version is refused).
Safe while the daemon runs: it notices the write and reloads its cached lists before the next decision
(a terminal connected to central also takes the lists from central). Exit 1 if any list was refused.`,
  async run(cmd, io) {
    const c = config(str(cmd, 'config'));
    const dir = str(cmd, 'lists');
    if (!existsSync(dir))
      throw new UserError(
        `${dir} does not exist; write the lists with \`passgate issuer lists --out ${dir}\``,
      );
    const files = readdirSync(dir).filter((f) => f.endsWith('.cose'));
    if (files.length === 0) throw new UserError(`no *.cose list files in ${dir}`);
    const listKey = new VerifyKey('EdDSA', fromHex(c.listPublicKey, 'listPublicKey'));
    const keyFile = join(dir, 'list-key.json');
    if (existsSync(keyFile)) {
      const pinned = readJsonObject(keyFile, 'list key file').publicKey;
      if (typeof pinned === 'string' && pinned.toLowerCase() !== c.listPublicKey)
        io.err(`warning: ${keyFile} names another list key than the one this terminal pins (listPublicKey)`);
    }
    const items = files.map((f) => {
      const bytes = new Uint8Array(readFileSync(join(dir, f)));
      try {
        const l = openList(bytes, listKey);
        return {
          file: f,
          bytes,
          order: TYPE_ORDER.indexOf(l.type) * 1e12 + ('delta' in l ? 1e11 : 0) + l.version,
        };
      } catch (err) {
        if (err instanceof ListError) return { file: f, bytes, order: Number.MAX_SAFE_INTEGER };
        throw err;
      }
    });
    items.sort((a, b) => a.order - b.order);
    const store = openStore(c);
    const results = [];
    try {
      for (const item of items)
        results.push({ file: item.file, ...applySignedListBytes(store, listKey, item.bytes, Date.now()) });
    } finally {
      store.close();
    }
    const refused = results.filter((r) => r.outcome === 'refused');
    print(
      io,
      { ok: refused.length === 0, results },
      results
        .map((r) =>
          r.outcome === 'refused'
            ? `${r.file}: REFUSED (${r.code}) ${r.message}`
            : `${r.file}: ${r.type} v${r.version} ${r.outcome.replace('_', ' ')}`,
        )
        .join('\n'),
    );
    return refused.length === 0 ? 0 : 1;
  },
};

const recover: CommandSpec = {
  name: 'terminal recover',
  summary: 'rebuild a damaged terminal database: keep the outbox and seq, drop the caches',
  options: { config: configOption },
  help: `
Moves terminal.db aside (never deletes it) as terminal.db.damaged-<time>, copies every readable outbox
event, the seq counter, the clock state and occupancy into a new database built as terminal.db.recovering,
and only then renames it to terminal.db. Outbox events that cannot be read are replaced by record_lost
events with the same seq, so central keeps receiving an unbroken run. If recovery stops half way, there is
no terminal.db and the terminal refuses to start: run this command again, it continues from the
.damaged-* file. Lists, replay and verification caches start empty: run \`passgate terminal load-lists\`
or let the terminal resync from central before opening the gate.`,
  async run(cmd, io) {
    const c = config(str(cmd, 'config'));
    const path = dbPath(c);
    if (!existsSync(path) && damagedDatabases(path).length === 0)
      throw new UserError(`${path} does not exist: nothing to recover (start the terminal to create it)`);
    let r: RecoveryReport;
    try {
      r = recoverStore(path);
    } catch (err) {
      if (err instanceof StoreCorruptError) throw new UserError(err.message);
      throw new UserError(
        `recovery did not finish (${(err as Error).message}): ${path} was not replaced. Fix the cause, ` +
          'then run `passgate terminal recover --config FILE` again (it continues from the .damaged-* file)',
      );
    }
    const lines = [
      r.resumed
        ? `continued an unfinished recovery from ${r.movedTo}`
        : `damaged database moved to ${r.movedTo}`,
      `kept ${r.keptEvents} outbox event(s); last seq ${r.lastSeq}, acknowledged up to ${r.ackedSeq}`,
    ];
    if (r.markers > 0)
      lines.push(
        `${r.lostEventRows} event(s) could not be read and are lost; ${r.markers} record_lost event(s) ` +
          'stand in their place so the terminal keeps syncing with central',
      );
    if (r.pagesSalvaged > 0)
      lines.push(`${r.pagesSalvaged} event(s) read from the raw pages SQLite could not open`);
    if (r.seqCounterLost)
      lines.push(
        `the seq counter could not be read; it continues from ${r.lastSeq}, the highest seq found. The outbox ` +
          "is held: nothing is sent until central's signed ack says how far central is, and events made " +
          'meanwhile are renumbered past it (no seq is used twice). `passgate terminal status` shows seq_hold',
      );
    lines.push(
      `new database integrity_check: ${r.integrity}`,
      'next: load lists (passgate terminal load-lists --config … --lists DIR) or connect to central, then start the terminal',
    );
    print(io, { ok: r.integrity === 'ok', ...r }, lines.join('\n'));
    return r.integrity === 'ok' ? 0 : 1;
  },
};

const status: CommandSpec = {
  name: 'terminal status',
  summary: 'show list versions and ages against the staleness policy, clock, outbox depth',
  options: { config: configOption },
  async run(cmd, io) {
    const c = config(str(cmd, 'config'));
    const store = openStore(c);
    try {
      const clock = new TerminalClock(
        store.clock,
        new VerifyKey('EdDSA', fromHex(c.listPublicKey, 'listPublicKey')),
        c.clock,
      );
      const r = buildReport(c, store, clock);
      const lines = [
        `terminal ${r.terminalId} (${r.role}, gate ${r.gate}): ${r.healthy ? 'healthy' : 'NOT healthy'}`,
        `clock: ${r.clock} (a running daemon may be trusted through beacons)`,
        `outbox: ${r.outboxDepth} event(s) waiting; last seq ${r.lastSeq}, acknowledged ${r.ackedSeq}`,
        `staleness policy: warn ${r.staleness.warnHours} h, fail ${r.staleness.failHours} h, ${r.staleness.failOpen ? 'fail open (alert)' : 'fail closed'}`,
        ...Object.entries(r.lists).map(
          ([t, l]) => `list ${t}: v${l.version}, ${l.ageHours.toFixed(1)} h old (${l.staleness})`,
        ),
        ...r.problems.map((p) => `problem: ${p}`),
        ...r.warnings.map((w) => `warning: ${w}`),
      ];
      print(io, r, lines.join('\n'));
      return r.healthy ? 0 : 1;
    } finally {
      store.close();
    }
  },
};

const keygen: CommandSpec = {
  name: 'terminal keygen',
  summary: "create the terminal's Ed25519 signing key file (signs event batches to central)",
  options: {
    out: { type: 'string', required: true, description: 'key file to write (0600); refuses to overwrite' },
  },
  async run(cmd, io) {
    const out = optStr(cmd, 'out')!;
    if (existsSync(out))
      throw new UserError(`${out} already exists; a terminal keeps its key (remove it first to replace it)`);
    const k = writeSigningKey(out);
    const publicKey = Buffer.from(k.publicKey).toString('hex');
    print(
      io,
      { ok: true, file: out, publicKey },
      `wrote ${out}\npublic key (give it to central at enrollment): ${publicKey}`,
    );
    return 0;
  },
};

export const terminalCommands: CommandSpec[] = [start, enroll, loadLists, recover, status, keygen];
