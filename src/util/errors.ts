/**
 * An error caused by what the user gave us (a file, a flag, a request body).
 * The CLI prints only its message and exits non-zero; the HTTP service maps it to 4xx.
 * `where` names the file/field so the message says exactly what to fix.
 */
export class UserError extends Error {
  constructor(message: string, readonly where?: string) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'UserError';
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
