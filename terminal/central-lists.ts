// What the terminal knows of central's lists: the versions central announced (in signed time beacons)
// beside the versions this terminal holds. A terminal behind central must not blame a credential for its
// own missing list: the pipeline denies with `lists_missing` instead of `unknown_issuer`.

export type HeldVersions = () => Partial<Record<string, { version: number } | undefined>>;

export class CentralListVersions {
  private readonly announced = new Map<string, number>();
  /** True once a beacon carrying versions was applied in this run. */
  private heard = false;

  constructor(private readonly held: HeldVersions) {}

  /** Versions from a verified beacon. Only ever moves forward. */
  learn(lists: Record<string, number> | undefined): void {
    if (!lists) return;
    this.heard = true;
    for (const [type, version] of Object.entries(lists))
      this.announced.set(type, Math.max(version, this.announced.get(type) ?? 0));
  }

  /** Whether this list is missing here, or older than what central announced. */
  behind(type: string): boolean {
    const held = this.held()[type]?.version;
    return held === undefined || held < (this.announced.get(type) ?? 0);
  }

  /**
   * Whether the terminal holds everything central announced, having heard from central in this run. Used to
   * hold inputs back at start (`terminal start --wait-lists`).
   */
  current(types: readonly string[] = ['trust', 'revocation']): boolean {
    return this.heard && types.every((t) => !this.behind(t));
  }

  /** For status and logs: type → announced version. */
  announcedVersions(): Record<string, number> {
    return Object.fromEntries(this.announced);
  }
}
