// systemd's notify protocol without native code: READY=1 once the daemon serves, WATCHDOG=1 at half the
// WatchdogSec interval while the daemon is healthy, STOPPING=1 on shutdown. Node cannot write to a unix
// datagram socket, so each message goes through `systemd-notify` (which waits until systemd has read it);
// the unit therefore says NotifyAccess=all. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export class SystemdNotifier {
  private timer: NodeJS.Timeout | undefined;
  private readonly socket: string | undefined;
  private readonly watchdogUsec: number | undefined;

  constructor(
    private readonly logger: Logger,
    env: NodeJS.ProcessEnv = process.env,
    private readonly command = 'systemd-notify',
  ) {
    this.socket = env.NOTIFY_SOCKET || undefined;
    const usec = Number(env.WATCHDOG_USEC);
    const pid = Number(env.WATCHDOG_PID);
    // WATCHDOG_PID, when set, names the process the watchdog is for.
    this.watchdogUsec = usec > 0 && (!pid || pid === process.pid) ? usec : undefined;
  }

  get enabled(): boolean {
    return this.socket !== undefined;
  }

  /** Half the watchdog interval, or undefined when systemd asked for none. */
  get watchdogEveryMs(): number | undefined {
    return this.watchdogUsec === undefined ? undefined : Math.max(500, Math.floor(this.watchdogUsec / 2000));
  }

  notify(...assignments: string[]): Promise<boolean> {
    if (!this.socket) return Promise.resolve(false);
    return new Promise((resolve) => {
      execFile(
        this.command,
        assignments,
        { env: { ...process.env, NOTIFY_SOCKET: this.socket }, timeout: 5_000 },
        (err) => {
          if (err) this.logger.warn({ err: err.message }, 'systemd notify failed');
          resolve(!err);
        },
      );
    });
  }

  ready(status: string): Promise<boolean> {
    return this.notify('--ready', `--status=${status}`);
  }

  /** Feeds the watchdog while `healthy()` says so; a stuck event loop or a failing store stops feeding. */
  startWatchdog(healthy: () => boolean): void {
    const every = this.watchdogEveryMs;
    if (!this.socket || every === undefined) return;
    this.timer = setInterval(() => {
      let ok = false;
      try {
        ok = healthy();
      } catch {
        ok = false;
      }
      if (ok) void this.notify('WATCHDOG=1');
      else this.logger.warn('not feeding the systemd watchdog: the daemon is not healthy');
    }, every);
    this.timer.unref();
  }

  async stopping(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.notify('STOPPING=1');
  }
}
