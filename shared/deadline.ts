// Shutdown steps with a time limit: a stop must finish even when the other side (a broker that does not
// answer, a database that hangs) never does. The step keeps running in the background; the caller goes on.

/** Default limit for one shutdown step. */
export const STOP_STEP_MS = 2_000;

/**
 * Resolves true when `work` settled within `ms` (fulfilled or rejected: a failed step is still finished),
 * false when the time ran out. Never rejects; `onProblem` hears why a step failed or was cut short.
 */
export async function boundedStep(
  work: () => Promise<unknown> | unknown,
  ms = STOP_STEP_MS,
  onProblem?: (why: 'timeout' | Error) => void,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  try {
    const outcome = await Promise.race([
      Promise.resolve()
        .then(work)
        .then(
          () => 'done' as const,
          (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
        ),
      timeout,
    ]);
    if (outcome === 'done') return true;
    onProblem?.(outcome);
    return outcome !== 'timeout';
  } finally {
    clearTimeout(timer);
  }
}
