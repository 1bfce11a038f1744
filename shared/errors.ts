// One error model for the whole product (see docs/errors.md once it exists):
// - `InvalidInput` is a person's mistake in a CLI argument, a config file or an admin API body. It names the
//   field; the CLI maps it to exit 2 and the admin API to HTTP 400. Nothing else maps there.
// - `Refusal` is untrusted bytes turned away at a boundary (a QR code, an MQTT payload, a list, a serial line).
//   It carries a stable code that logs, metrics and events can count. It is a value a caller may also throw.
// Anything else thrown is a bug or broken infrastructure and is reported as such, never as "bad input".

export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
  constructor(
    /** The field, argument or path that was wrong, e.g. `--days`, `body.role`, `inputs[2].port`. */
    readonly field: string,
    /** What is wrong and what would be right, in plain words. */
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

export class Refusal extends Error {
  override readonly name = 'Refusal';
  constructor(
    /** A stable, lowercase code (e.g. `malformed`, `too_large`, `bad_signature`). */
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

export function isInvalidInput(err: unknown): err is InvalidInput {
  return err instanceof InvalidInput;
}

export function isRefusal(err: unknown): err is Refusal {
  return err instanceof Refusal;
}

/**
 * Runs a noble-style asserter (which throws TypeError/RangeError for a caller's bug) on a person's input,
 * turning its complaint into an InvalidInput naming the field. Other errors pass through.
 */
export function asInvalidInput<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) {
      const problem = err.message.startsWith(`${field}: `)
        ? err.message.slice(field.length + 2)
        : err.message;
      throw new InvalidInput(field, problem);
    }
    throw err;
  }
}
