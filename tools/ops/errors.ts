/** A failure the operator can act on: printed as its message alone, never with a stack. */
export class OpsError extends Error {
  constructor(
    message: string,
    /** Process exit code. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

/** A server that cannot be reached: exit 69 (EX_UNAVAILABLE). */
export class Unreachable extends OpsError {
  constructor(message: string) {
    super(message, 69);
    this.name = 'Unreachable';
  }
}

/** Arguments that do not make sense together: exit 64 (EX_USAGE), with the command's usage. */
export class UsageError extends OpsError {
  constructor(message: string) {
    super(message, 64);
    this.name = 'UsageError';
  }
}
