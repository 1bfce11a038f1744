// Central's library side: the loans ledger fed by ingest (before the ack, so a failure means the terminal
// resends and the ledger, idempotent per event, catches up), the member status list republished after
// every change so kiosks converge, and the policy/catalogue lists staff set.
import { InvalidInput } from '../../shared/errors.js';
import type { Logger } from 'pino';
import type { TerminalEvent } from '../../shared/events.js';
import {
  BARCODE,
  readPolicy,
  encodePolicy,
  type CatalogueItem,
  type LoanPolicy,
  type MemberStatus,
} from '../../shared/library.js';
import type { ListPublisher } from '../lists.js';
import type { CentralStore } from '../store/types.js';
import { itemChange, itemRemoval, memberChange, policyChange } from './lists.js';
import type { LoanSummary } from './types.js';
import { dayRange, exportKoc } from './koc.js';

export interface LibraryReport extends LoanSummary {
  lists: Record<string, number>;
}

export class LibraryService {
  private readonly log: Logger;

  constructor(
    private readonly store: CentralStore,
    private readonly publisher: Pick<ListPublisher, 'changed'>,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'library' });
  }

  /** Called by ingest after a batch committed and before its ack. */
  async batchCommitted(terminal: string, events: readonly TerminalEvent[]): Promise<void> {
    const subs = await this.store.loans.applyLoanEvents(terminal, events);
    if (subs.length === 0) return;
    await this.republishMembers(subs);
    this.log.info({ terminal, members: subs.length }, 'loans applied; member status republished');
  }

  async republishMembers(subs: readonly string[]): Promise<number> {
    const loans = await this.store.loans.openLoans(subs);
    const blocked = new Set(await this.store.loans.blockedMembers());
    const changes = subs.map((sub) =>
      memberChange({
        sub,
        blocked: blocked.has(sub),
        loans: loans
          .filter((l) => l.sub === sub)
          .map((l) => ({ barcode: l.item, loanedAt: l.loanedAt, due: l.due, renewals: l.renewals })),
      } satisfies MemberStatus),
    );
    const version = await this.store.changeList('members', changes);
    await this.publisher.changed('members');
    return version;
  }

  /** Validated like a signed list body would be (readPolicy), so central never publishes one kiosks refuse. */
  async setPolicy(policy: LoanPolicy): Promise<number> {
    const checked = readPolicy(encodePolicy(policy));
    const version = await this.store.changeList('library', [policyChange(checked)]);
    await this.publisher.changed('library');
    return version;
  }

  async setItems(items: readonly CatalogueItem[], remove: readonly string[] = []): Promise<number> {
    for (const i of items)
      if (!BARCODE.test(i.barcode))
        throw new InvalidInput('items', `barcode ${JSON.stringify(i.barcode)} is not valid`);
    const version = await this.store.changeList('items', [
      ...items.map(itemChange),
      ...remove.map(itemRemoval),
    ]);
    await this.publisher.changed('items');
    return version;
  }

  async setBlocked(sub: string, blocked: boolean): Promise<number> {
    await this.store.loans.setBlocked(sub, blocked, Date.now());
    return this.republishMembers([sub]);
  }

  /** The day's loans, renewals and returns as a Koha offline circulation file (koc.ts). */
  async exportKoc(day: string, timeZone = 'UTC'): Promise<ReturnType<typeof exportKoc>> {
    const [from, to] = dayRange(day, timeZone);
    return exportKoc(await this.store.loans.activity(from, to), from, to, { timeZone });
  }

  loans(query: {
    sub?: string;
    openOnly?: boolean;
    limit?: number;
  }): ReturnType<CentralStore['loans']['loans']> {
    return this.store.loans.loans(query);
  }

  conflicts(unresolvedOnly = false): ReturnType<CentralStore['loans']['conflicts']> {
    return this.store.loans.conflicts({ unresolvedOnly });
  }

  async report(): Promise<LibraryReport> {
    const lists: Record<string, number> = {};
    for (const t of ['library', 'items', 'members'] as const)
      lists[t] = (await this.store.listState(t)).version;
    return { ...(await this.store.loans.summary(Date.now())), lists };
  }
}
