// The library's admin routes (behind the admin token, like every admin route). Reads:
//   GET /library/status                     open, overdue, conflicts, list versions
//   GET /library/loans?sub=&open=1&limit=   loans, newest first
//   GET /library/conflicts?unresolved=1     offline conflicts and what the rule did
//   GET /library/koc?day=YYYY-MM-DD&tz=Area/City   the day as a Koha .koc file (text)
// Changes (each republishes its signed list); bodies are checked by the same readers kiosks use:
//   POST /library/policy  {limit, branch?, types: {TYPE: {days, renewals}}}
//   POST /library/items   {upsert: [{barcode, type, loanable, holdFor?}], remove?: [barcode]}
//   POST /library/block   {sub, blocked}
import { InvalidInput } from '../../shared/errors.js';
import { readItemsDelta, readPolicy } from '../../shared/library.js';
import { ListError } from '../../shared/lists.js';
import type { LibraryService } from './library.js';

type Body = Record<string, unknown>;

/** The list reader's complaint, as a people's-input error naming the field. */
function checked<T>(field: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ListError) throw new InvalidInput(field, err.message);
    throw err;
  }
}

const asMap = (v: unknown): unknown =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
    ? new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, asMap(x)]))
    : v;

export async function libraryChange(library: LibraryService, path: string, body: Body): Promise<unknown> {
  switch (path) {
    case '/library/policy': {
      const policy = checked('policy', () => readPolicy(asMap(body) as Map<string, unknown>));
      return { version: await library.setPolicy(policy) };
    }
    case '/library/items': {
      const upsert = body.upsert ?? [];
      if (!Array.isArray(upsert)) throw new InvalidInput('upsert', 'an array of items');
      const tuples = (upsert as unknown[]).map((i) => {
        const x = (i ?? {}) as Record<string, unknown>;
        return x.holdFor === undefined
          ? [x.barcode, x.type, x.loanable]
          : [x.barcode, x.type, x.loanable, x.holdFor];
      });
      const delta = checked('items', () =>
        readItemsDelta(
          new Map<string, unknown>([
            ['upsert', tuples],
            ['remove', body.remove ?? []],
          ]),
        ),
      );
      return { version: await library.setItems(delta.upsert, delta.remove) };
    }
    case '/library/block': {
      const sub = body.sub;
      if (typeof sub !== 'string' || !SUB.test(sub))
        throw new InvalidInput('sub', 'a pseudonym of at most 128 characters');
      if (typeof body.blocked !== 'boolean') throw new InvalidInput('blocked', 'true or false');
      return { version: await library.setBlocked(sub, body.blocked) };
    }
    default:
      return undefined;
  }
}

const SUB = /^[^\s]{1,128}$/;
const TZ = /^[A-Za-z_]+(?:\/[A-Za-z_+-]+){0,2}$/;

export async function libraryRoute(
  library: LibraryService,
  path: string,
  q: URLSearchParams,
): Promise<unknown> {
  switch (path) {
    case '/library/status':
      return library.report();
    case '/library/loans': {
      const sub = q.get('sub') ?? undefined;
      if (sub !== undefined && !SUB.test(sub))
        throw new InvalidInput('sub', 'a pseudonym of at most 128 characters');
      const limit = q.has('limit') ? Number(q.get('limit')) : 1000;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
        throw new InvalidInput('limit', '1-10000');
      return library.loans({ ...(sub ? { sub } : {}), openOnly: q.get('open') === '1', limit });
    }
    case '/library/conflicts':
      return library.conflicts(q.get('unresolved') === '1');
    case '/library/koc': {
      const tz = q.get('tz') ?? 'UTC';
      if (!TZ.test(tz)) throw new InvalidInput('tz', 'an IANA time zone such as Asia/Taipei');
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
      } catch {
        throw new InvalidInput('tz', `unknown time zone ${tz}`);
      }
      return (await library.exportKoc(q.get('day') ?? '', tz)).text;
    }
    default:
      return undefined;
  }
}
