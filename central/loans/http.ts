// The library's read-only admin routes (behind the admin token, like every admin route):
//   GET /library/status                     open, overdue, conflicts, list versions
//   GET /library/loans?sub=&open=1&limit=   loans, newest first
//   GET /library/conflicts?unresolved=1     offline conflicts and what the rule did
//   GET /library/koc?day=YYYY-MM-DD&tz=Area/City   the day as a Koha .koc file (text)
import type { LibraryService } from './library.js';

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
        throw new RangeError('sub: a pseudonym of at most 128 characters');
      const limit = q.has('limit') ? Number(q.get('limit')) : 1000;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new RangeError('limit: 1-10000');
      return library.loans({ ...(sub ? { sub } : {}), openOnly: q.get('open') === '1', limit });
    }
    case '/library/conflicts':
      return library.conflicts(q.get('unresolved') === '1');
    case '/library/koc': {
      const tz = q.get('tz') ?? 'UTC';
      if (!TZ.test(tz)) throw new RangeError('tz: an IANA time zone such as Asia/Taipei');
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
      } catch {
        throw new RangeError(`tz: unknown time zone ${tz}`);
      }
      return (await library.exportKoc(q.get('day') ?? '', tz)).text;
    }
    default:
      return undefined;
  }
}
