// Which central worker publishes lists and time beacons. With SQLite there is one central and it always
// leads; with PostgreSQL the workers hold a lease (central/store/pg-lease.ts) and exactly one leads.

export interface Leadership {
  readonly isLeader: boolean;
  /**
   * Begins taking part. `onChange(true)` when this worker becomes the leader, `(false)` when it loses the
   * lease; `onListChanged(type)` when any worker changed a list (the leader publishes it). Resolves
   * after the first attempt, so a lone worker leads by the time it has started.
   */
  start(onChange: (leader: boolean) => void, onListChanged: (type: string) => void): Promise<void>;
  stop(): Promise<void>;
}

/** The only publisher there is (SQLite central, or a worker told to publish alone). */
export class SoleLeader implements Leadership {
  private leader = false;

  get isLeader(): boolean {
    return this.leader;
  }

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.leader = true;
    onChange(true);
  }

  async stop(): Promise<void> {
    this.leader = false;
  }
}

/** A worker that never publishes (`publishLists: false`). */
export class NeverLeader implements Leadership {
  readonly isLeader = false;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
