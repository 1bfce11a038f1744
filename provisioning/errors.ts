// How provisioning says no. `Refused` (exit 1): central or the terminal's state refuses what was asked,
// with a stable code and a message that says what to do. People's typing mistakes are shared/errors.ts
// InvalidInput (exit 2).
export class Refused extends Error {
  override name = 'Refused';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
