/**
 * Exit codes (docs/architecture.md "Errors and exit codes"): 0 ok, 1 a budget or rule failed, 2 bad input or usage,
 * 3 environment (no daemon, no GPU runtime, registry unreachable).
 */
export const EXIT_OK = 0;
export const EXIT_RULE = 1;
export const EXIT_INPUT = 2;
export const EXIT_ENV = 3;

/** An error meant for the user: one line naming what and where, with the exit code to use. */
export class ImgscopeError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_INPUT, options?: { cause?: unknown }) {
    super(message.replace(/\s*\n\s*/g, ' '), options);
    this.name = 'ImgscopeError';
    this.exitCode = exitCode;
  }
}

export function inputError(message: string, cause?: unknown): ImgscopeError {
  return new ImgscopeError(message, EXIT_INPUT, { cause });
}

export function envError(message: string, cause?: unknown): ImgscopeError {
  return new ImgscopeError(message, EXIT_ENV, { cause });
}

/** Re-throws `err` with `where` prefixed, keeping its exit code (or making it a bad-input error). */
export function withContext(where: string, err: unknown): ImgscopeError {
  if (err instanceof ImgscopeError) {
    if (err.message.startsWith(where)) return err;
    // "docker-archive:/x/img.tar" + "/x/img.tar: truncated tar…": the path is said once.
    const sep = err.message.indexOf(': ');
    if (sep > 0 && where.endsWith(err.message.slice(0, sep))) return new ImgscopeError(`${where}${err.message.slice(sep)}`, err.exitCode, { cause: err });
    return new ImgscopeError(`${where}: ${err.message}`, err.exitCode, { cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new ImgscopeError(`${where}: ${msg}`, EXIT_INPUT, { cause: err });
}
