// Ctrl-C and SIGTERM for the long-running commands (`central start`, `terminal start`). The first signal
// starts a shutdown whose every step is bounded; signals that arrive while it runs are noted and ignored,
// so a second Ctrl-C (or a supervisor repeating SIGTERM) cannot cut it short and lose the last words.
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Resolves with the first SIGINT/SIGTERM; later ones only call `onRepeat`. */
export function stopSignal(onRepeat: (signal: string) => void = () => undefined): Promise<string> {
  return new Promise((resolve) => {
    let first: string | undefined;
    const handler = (signal: string) => {
      if (first === undefined) {
        first = signal;
        resolve(signal);
      } else onRepeat(signal);
    };
    for (const s of SIGNALS) process.on(s, handler);
  });
}
