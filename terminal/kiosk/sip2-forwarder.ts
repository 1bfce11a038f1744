// Forwards the kiosk's committed loans, renewals and returns to an ILS over SIP2 when it answers. The
// queue (ils_queue) is written in the same transaction as each event, so a loan is forwarded at least
// once whatever happens to the process; a row leaves the queue only after the ILS answered it. Messages
// go one at a time (SIP2 has no request ids): login 93, then per patron a status 23 once per connection,
// then 11 checkout (a renewal is a checkout with renewal policy Y) or 09 checkin.
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { checksumOk, parseSip2, sip2, withErrorDetection, type Sip2Response, type Sip2Site } from './sip2.js';
import type { IlsAction, LoansRepo } from './loans-repo.js';

export interface Sip2Options extends Sip2Site {
  host: string;
  port: number;
  user?: string;
  password?: string;
  timeoutMs?: number;
  retryMs?: number;
}

export class Sip2Forwarder {
  private socket: Socket | undefined;
  private buf = '';
  private waiting: ((line: string) => void) | undefined;
  private seq = 0;
  private statused = new Set<string>();
  private draining = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  forwarded = 0;
  refused = 0;

  constructor(
    private readonly repo: LoansRepo,
    private readonly opts: Sip2Options,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.poke();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** Something was queued: forward it now (or after the drain in progress). */
  poke(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.repo.nextForIls(); next && !this.stopped; next = this.repo.nextForIls()) {
        await this.forward(next.action);
        this.repo.forwardedToIls(next.seq);
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'ILS not reachable over SIP2; retrying');
      this.socket?.destroy();
      this.socket = undefined;
      clearTimeout(this.timer);
      if (!this.stopped) {
        this.timer = setTimeout(() => this.poke(), this.opts.retryMs ?? 2000);
        this.timer.unref();
      }
    }
  }

  private async forward(a: IlsAction): Promise<void> {
    await this.connected();
    let r: Sip2Response;
    if (a.kind === 'return') {
      r = await this.request(sip2.checkin(this.opts, a.item, a.at), '10');
    } else {
      if (!this.statused.has(a.sub)) {
        const status = await this.request(sip2.patronStatus(this.opts, a.sub, a.at), '24');
        if (status.fields.get('BL') === 'N')
          this.logger.warn('ILS does not know the patron; loan forwarded anyway');
        this.statused.add(a.sub);
      }
      r = await this.request(
        sip2.checkout(this.opts, a.sub, a.item, a.at, a.due, a.kind === 'renewal'),
        '12',
      );
    }
    if (r.fixed[0] === '1') this.forwarded++;
    else {
      this.refused++;
      this.logger.warn(
        { kind: a.kind, screen: r.fields.get('AF') },
        'ILS refused a forwarded transaction (kept in the ledger)',
      );
    }
  }

  private async connected(): Promise<void> {
    if (this.socket) return;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(this.opts.port, this.opts.host);
      s.setTimeout(this.opts.timeoutMs ?? 5000, () => s.destroy(new Error('SIP2 connection timed out')));
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
    });
    socket.on('data', (d: string) => {
      this.buf += d;
      if (this.buf.length > 64 * 1024) socket.destroy();
      for (let i = this.buf.indexOf('\r'); i !== -1; i = this.buf.indexOf('\r')) {
        const line = this.buf.slice(0, i).replace(/^\n/, '');
        this.buf = this.buf.slice(i + 1);
        this.waiting?.(line);
      }
    });
    this.socket = socket;
    this.statused.clear();
    if (this.opts.user) {
      const r = await this.request(
        sip2.login(this.opts.user, this.opts.password ?? '', this.opts.location),
        '94',
      );
      if (r.fixed !== '1') throw new Error('SIP2 login refused');
    }
  }

  private request(body: string, expect: string): Promise<Sip2Response> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`no SIP2 answer ${expect} in time`));
      }, this.opts.timeoutMs ?? 5000);
      this.waiting = (line) => {
        clearTimeout(timer);
        this.waiting = undefined;
        const r = parseSip2(line);
        if (!checksumOk(line) || !r || r.code !== expect)
          reject(new Error(`unexpected SIP2 answer (wanted ${expect})`));
        else resolve(r);
      };
      socket.write(withErrorDetection(body, this.seq++));
    });
  }
}
