// The library kiosk (role `kiosk`): identify → session with an idle timeout → one decision per item →
// `loan` event committed → only then the screen shows it → receipt. Return mode records `return` events
// without a member. Scans run one at a time; everything works from the local store with the network down.
// Durable before visible: the view changes (screen, receipt, printer, ILS) only after store.commitEvent
// returned, and a commit that throws becomes a refusal (storage_failure) on screen.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { toHex } from '../../shared/bytes.js';
import type { EventData, TerminalEvent } from '../../shared/events.js';
import { BARCODE } from '../../shared/library.js';
import type { Reason } from '../../shared/reasons.js';
import { verify } from '../../shared/verify.js';
import { cardHash } from '../../shared/cards.js';
import type { TerminalClock } from '../clock.js';
import type { TerminalConfig } from '../config.js';
import type { TerminalBus } from '../events.js';
import type { ScanResponse as LineResponse } from '../io/device.js';
import type { Scan } from '../io/scan.js';
import type { CommitEffects, SqliteStore } from '../store/sqlite.js';
import { decideItem } from './decide.js';
import { LoansRepo, type IlsAction } from './loans-repo.js';
import { lineToKioskInput, type KioskControl, type KioskInput } from './scan-lines.js';

export type KioskAction = 'loan' | 'renewal' | 'return';

export interface KioskLine {
  item: string;
  action: KioskAction;
  decision: 'accept' | 'deny';
  reason: Reason;
  /** Why a loan or renewal was refused (reference, on_hold, on_loan, max_renewals …). */
  why?: string;
  /** Unix ms, end of the due day. */
  due?: number;
  type?: string;
  seq: number | null;
}

export interface Receipt {
  id: string;
  terminal: string;
  gate: string;
  member?: string;
  at: number;
  /** Accepted loans, renewals and returns only. */
  lines: KioskLine[];
}

export type KioskState = 'idle' | 'session' | 'return' | 'receipt';

export interface KioskView {
  /** Increases with every change (the screen ignores an older one). */
  version: number;
  state: KioskState;
  mode: 'checkout' | 'return';
  /** The member's pseudonym (never a name). */
  member?: string;
  lines: KioskLine[];
  /** Why the last identification failed, or a hint (identify_first). */
  notice?: string;
  receipt?: Receipt;
}

export interface KioskOptions {
  idleTimeoutMs: number;
  /** Queue every loan, renewal and return for the ILS (ils_queue), in the event's transaction. */
  forwardToIls?: boolean;
  /** How long the receipt stays on screen before the kiosk goes idle. */
  receiptMs: number;
}

interface Session {
  sub: string;
  cti?: string;
  limit: number;
  via: 'kiosk' | 'phone';
  lines: KioskLine[];
  replay?: CommitEffects['replay'];
}

export interface KioskDeps {
  config: TerminalConfig;
  store: SqliteStore;
  clock: TerminalClock;
  bus: TerminalBus;
  logger: Logger;
  cardKey?: Uint8Array;
  options: KioskOptions;
}

type ViewListener = (view: KioskView) => void;
type ReceiptListener = (receipt: Receipt) => void | Promise<void>;
type EventListener = (event: TerminalEvent) => void;

export class Kiosk {
  private repo: LoansRepo | undefined;
  private session: Session | undefined;
  private mode: 'checkout' | 'return' = 'checkout';
  private current: KioskView = { version: 0, state: 'idle', mode: 'checkout', lines: [] };
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private receiptTimer: NodeJS.Timeout | undefined;
  private readonly viewListeners = new Set<ViewListener>();
  private readonly receiptListeners = new Set<ReceiptListener>();
  private readonly eventListeners = new Set<EventListener>();

  constructor(private readonly deps: KioskDeps) {}

  /** Prepares the repository on the store's open connection. */
  start(): void {
    this.repo = new LoansRepo(this.deps.store.connection);
  }

  /** Stops taking scans, waits for the one in flight, ends an open session (its loans are committed). */
  async stop(): Promise<void> {
    this.closed = true;
    await this.queue;
    clearTimeout(this.idleTimer);
    clearTimeout(this.receiptTimer);
  }

  view(): KioskView {
    return this.current;
  }

  onView(l: ViewListener): () => void {
    this.viewListeners.add(l);
    return () => this.viewListeners.delete(l);
  }
  /** A finished session's receipt (screen, printer). */
  onReceipt(l: ReceiptListener): () => void {
    this.receiptListeners.add(l);
    return () => this.receiptListeners.delete(l);
  }
  /** Every committed loan, renewal and return (ILS forwarding). */
  onCommitted(l: EventListener): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  /** A line from stdin/TCP (scan-lines.ts). */
  handleLine(line: string, source: string): Promise<LineResponse> {
    return this.enqueue(() => {
      const input = lineToKioskInput(line, source, this.deps.clock.nowMs());
      this.deps.bus.emit('scan', { source, kind: 'scan' in input ? input.scan.kind : 'qr' });
      return this.run(input);
    });
  }

  /** A typed scan from an input. */
  handleScan(scan: Scan): Promise<LineResponse> {
    return this.enqueue(() => {
      this.deps.bus.emit('scan', { source: scan.input, kind: scan.kind });
      return this.run({ scan });
    });
  }

  /** A button on the screen. */
  control(c: KioskControl): Promise<LineResponse> {
    return this.enqueue(() => this.run({ control: c }));
  }

  private enqueue(task: () => LineResponse | Promise<LineResponse>): Promise<LineResponse> {
    if (this.closed) return Promise.resolve({ ignored: 'shutting_down' });
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  get loans(): LoansRepo {
    if (!this.repo) throw new Error('kiosk is not started');
    return this.repo;
  }

  private async run(input: KioskInput): Promise<LineResponse> {
    // One turn of the event loop between scans: what the last scan put on the screen (an HTTP write is
    // flushed on the next tick) leaves the process before the next loan commits, so a crash can leave at
    // most one committed loan unseen.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.touch();
    if ('malformed' in input) return this.notice('malformed');
    if ('control' in input) return this.onControl(input.control);
    const scan = input.scan;
    if (scan.kind === 'barcode') {
      if (!BARCODE.test(scan.text)) return this.notice('malformed');
      if (this.mode === 'return') return this.returnItem(scan.text);
      if (!this.session) return this.notice('identify_first');
      const line = this.itemLine(scan.text);
      return { decision: line.decision, reason: line.reason, seq: line.seq, kiosk: this.answer([line]) };
    }
    if (this.mode === 'return') return this.notice('return_mode');
    // A new member ends the open session first (its receipt), then identifies.
    if (this.session) await this.finish();
    return scan.kind === 'qr' ? this.identifyQr(scan.text) : this.identifyCard(scan.uid);
  }

  private async onControl(c: KioskControl): Promise<LineResponse> {
    if (c === 'done' || c === 'cancel') {
      if (this.session) await this.finish();
      else this.goIdle();
    } else {
      if (this.session) await this.finish();
      this.mode = c;
      clearTimeout(this.receiptTimer);
      this.publish({ state: c === 'return' ? 'return' : 'idle', lines: [] });
    }
    return { decision: 'accept', reason: 'ok', seq: null, kiosk: { control: c, state: this.current.state } };
  }

  // ---- identification --------------------------------------------------------------------------
  private identifyQr(text: string): LineResponse {
    const { config, store, clock } = this.deps;
    const d = verify(text, store.verifier, {
      now: Math.floor(clock.nowMs() / 1000),
      windowSeconds: config.verify.windowSeconds,
      skewSeconds: config.verify.skewSeconds,
      requirement: config.requirement,
      recordReplay: false,
    });
    if (d.decision === 'deny') {
      this.deps.logger.info({ reason: d.reason }, 'kiosk identification refused');
      return this.notice(d.reason, 'deny');
    }
    const session: Session = {
      sub: d.sub!,
      limit: d.matched?.n ?? this.loans.policy()?.limit ?? 0,
      via: d.items ? 'phone' : 'kiosk',
      lines: [],
    };
    if (d.cti) session.cti = d.cti;
    if (d.replayKey && d.replayExpiresAt) {
      // The code is spent now, whether or not a loan follows (written with the next event).
      store.verifier.markSeen(d.replayKey, d.replayExpiresAt);
      session.replay = { key: d.replayKey, expiresAt: d.replayExpiresAt };
    }
    this.begin(session);
    if (!d.items) return { decision: 'accept', reason: 'ok', seq: null, kiosk: this.answer([]) };
    // Phone checkout: every item of the one scan gets its own decision and its own event.
    const lines = d.items.map((item) => this.itemLine(item));
    const answer = this.answer(lines);
    void this.finish();
    return { decision: 'accept', reason: 'ok', seq: lines.at(-1)?.seq ?? null, kiosk: answer };
  }

  private identifyCard(uid: Uint8Array): LineResponse {
    const key = this.deps.cardKey;
    const binding = key ? this.deps.store.verifier.cardBinding(cardHash(uid, key)) : undefined;
    if (!binding) return this.notice('card_unknown', 'deny');
    if (binding.blocked) return this.notice('card_blocked', 'deny');
    if (this.deps.store.verifier.isSuspended(binding.sub)) return this.notice('member_suspended', 'deny');
    this.begin({ sub: binding.sub, limit: this.loans.policy()?.limit ?? 0, via: 'kiosk', lines: [] });
    return { decision: 'accept', reason: 'ok', seq: null, kiosk: this.answer([]) };
  }

  private begin(session: Session): void {
    clearTimeout(this.receiptTimer);
    this.session = session;
    this.publish({ state: 'session', member: session.sub, lines: [] });
    this.deps.logger.info({ via: session.via }, 'kiosk session started');
  }

  // ---- items -------------------------------------------------------------------------------------
  private itemLine(barcode: string): KioskLine {
    const s = this.session!;
    // The same item twice in one session (a second scan) is the same answer, not a renewal.
    const earlier = s.lines.find((l) => l.item === barcode);
    if (earlier) return earlier;
    const repo = this.loans;
    const nowMs = this.deps.clock.eventTimeMs();
    const open = repo.openLoans(s.sub);
    const item = repo.item(barcode);
    const d = decideItem({
      sub: s.sub,
      blocked: repo.isBlocked(s.sub),
      limit: s.limit,
      openLoans: open.length,
      item,
      holder: repo.holder(barcode),
      policy: repo.policy(),
      nowMs,
    });
    const data: EventData = { item: barcode, via: s.via };
    if (item) data.type = item.type;
    if (d.decision === 'deny' && d.why) data.why = d.why;
    const effects: CommitEffects = {};
    if (s.replay) effects.replay = s.replay;
    let kind: TerminalEvent['kind'];
    if (d.decision === 'accept') {
      data.due = d.due;
      if (d.action === 'loan') {
        kind = 'loan';
        data.limit = s.limit;
        effects.write = (seq) => {
          repo.recordLoan(seq, { barcode, sub: s.sub, loanedAt: nowMs, due: d.due, renewals: 0 });
          this.queueForIls(seq, { kind: 'loan', item: barcode, sub: s.sub, at: nowMs, due: d.due });
        };
      } else {
        kind = 'renewal';
        data.renewals = d.renewals;
        const held = open.find((l) => l.barcode === barcode)!;
        effects.write = (seq) => {
          repo.recordLoan(seq, {
            barcode,
            sub: s.sub,
            loanedAt: held.loanedAt,
            due: d.due,
            renewals: d.renewals,
          });
          this.queueForIls(seq, { kind: 'renewal', item: barcode, sub: s.sub, at: nowMs, due: d.due });
        };
      }
    } else kind = d.action === 'renewal' ? 'renewal_denied' : 'loan';
    const line = this.commit(
      {
        kind,
        at: nowMs,
        decision: d.decision,
        reason: d.reason,
        sub: s.sub,
        ...(s.cti ? { cti: s.cti } : {}),
        data,
      },
      effects,
      {
        item: barcode,
        action: d.action,
        ...(item ? { type: item.type } : {}),
        ...(d.decision === 'deny' && d.why ? { why: d.why } : {}),
      },
    );
    if (line.decision === 'accept' && d.decision === 'accept') line.due = d.due;
    s.lines.push(line);
    this.publish({ state: 'session', member: s.sub, lines: [...s.lines] });
    return line;
  }

  private returnItem(barcode: string): LineResponse {
    const repo = this.loans;
    const nowMs = this.deps.clock.eventTimeMs();
    const item = repo.item(barcode);
    const holder = repo.holder(barcode);
    const data: EventData = { item: barcode, known: holder !== undefined };
    if (holder) data.loaned_at = holder.loanedAt;
    if (holder && holder.due < nowMs) data.overdue = true;
    const ok = item !== undefined || holder !== undefined;
    const line = this.commit(
      {
        kind: 'return',
        at: nowMs,
        decision: ok ? 'accept' : 'deny',
        reason: ok ? 'ok' : 'item_unknown',
        ...(holder ? { sub: holder.sub } : {}),
        data,
      },
      ok
        ? {
            write: (seq) => {
              repo.recordReturn(seq, barcode, nowMs);
              this.queueForIls(seq, { kind: 'return', item: barcode, at: nowMs });
            },
          }
        : {},
      { item: barcode, action: 'return', ...(item ? { type: item.type } : {}) },
    );
    const lines = [...this.current.lines.filter((l) => l.item !== barcode), line].slice(-20);
    this.publish({ state: 'return', lines });
    return { decision: line.decision, reason: line.reason, seq: line.seq, kiosk: this.answer([line]) };
  }

  /** Commits one event; a commit that fails is a refusal on screen (nothing was recorded). */
  private commit(
    event: Omit<TerminalEvent, 'seq'>,
    effects: CommitEffects,
    shown: Pick<KioskLine, 'item' | 'action' | 'type' | 'why'>,
  ): KioskLine {
    const { store, bus, logger, config } = this.deps;
    try {
      const committed = store.commitEvent({ ...event, gate: config.gate }, effects);
      bus.emit('eventCommitted', { seq: committed.seq });
      bus.emit('decision', {
        seq: committed.seq,
        decision: event.decision!,
        reason: event.reason!,
        latencyMs: 0,
        source: 'kiosk',
      });
      logger.info(
        { seq: committed.seq, kind: event.kind, decision: event.decision, reason: event.reason },
        'kiosk decision',
      );
      if (committed.decision === 'accept')
        for (const l of this.eventListeners)
          try {
            l(committed);
          } catch (err) {
            logger.error({ err }, 'kiosk event listener failed');
          }
      return { ...shown, decision: event.decision!, reason: event.reason!, seq: committed.seq };
    } catch (err) {
      logger.error({ err }, 'kiosk could not record the decision: refused');
      bus.emit('storageFailure', { message: (err as Error).message });
      return { ...shown, decision: 'deny', reason: 'storage_failure', seq: null };
    }
  }

  private queueForIls(seq: number, action: IlsAction): void {
    if (this.deps.options.forwardToIls) this.loans.queueForIls(seq, action);
  }

  // ---- session end and view -----------------------------------------------------------------------
  private async finish(): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    const receipt: Receipt = {
      id: toHex(new Uint8Array(randomBytes(6))),
      terminal: this.deps.config.terminalId,
      gate: this.deps.config.gate,
      member: s.sub,
      at: this.deps.clock.nowMs(),
      lines: s.lines.filter((l) => l.decision === 'accept'),
    };
    this.publish({ state: 'receipt', member: s.sub, lines: s.lines, receipt });
    // Printing never holds up the next scan: a jammed printer is logged, the receipt stays on screen.
    for (const l of this.receiptListeners)
      void Promise.resolve()
        .then(() => l(receipt))
        .catch((err: unknown) => this.deps.logger.error({ err }, 'receipt output failed'));
    clearTimeout(this.receiptTimer);
    this.receiptTimer = setTimeout(() => {
      void this.enqueue(() => {
        if (!this.session && this.current.state === 'receipt') this.goIdle();
        return { decision: 'accept', reason: 'ok', seq: null };
      });
    }, this.deps.options.receiptMs);
    this.receiptTimer.unref();
  }

  private goIdle(): void {
    this.mode = 'checkout';
    this.publish({ state: 'idle', lines: [] });
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      void this.enqueue(async () => {
        if (this.session) await this.finish();
        else if (this.mode === 'return') this.goIdle();
        return { decision: 'accept', reason: 'ok', seq: null };
      });
    }, this.deps.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private notice(reason: string, decision: 'accept' | 'deny' = 'deny'): LineResponse {
    this.publish({ ...this.current, notice: reason });
    return { decision, reason, seq: null, kiosk: { state: this.current.state, notice: reason } };
  }

  private answer(lines: KioskLine[]): Record<string, unknown> {
    return {
      state: this.current.state,
      ...(this.current.member ? { member: this.current.member } : {}),
      items: lines.map((l) => ({ ...l })),
    };
  }

  private publish(next: Omit<KioskView, 'version' | 'mode'> & { notice?: string }): void {
    const view: KioskView = {
      version: this.current.version + 1,
      state: next.state,
      mode: this.mode,
      lines: next.lines,
      ...(next.member ? { member: next.member } : {}),
      ...(next.notice ? { notice: next.notice } : {}),
      ...(next.receipt ? { receipt: next.receipt } : {}),
    };
    this.current = view;
    for (const l of this.viewListeners)
      try {
        l(view);
      } catch (err) {
        this.deps.logger.error({ err }, 'kiosk view listener failed');
      }
  }
}
