// Errors that reach the user carry an exit code and a hint of what to do next. bin/ turns them into
// `Unable to <verb> <object>: <reason>` plus the hint, never a stack trace.

export const EXIT = {
  ok: 0,
  preflight: 1,
  provisioning: 2,
  rollback: 3,
  verification: 4,
  usage: 5,
  notRoot: 6,
  partial: 7,
  locked: 75,
  /** `status --wait --timeout S`: the run had not ended in time (as timeout(1)). */
  waitTimeout: 124,
  sigint: 130,
  sigterm: 143,
} as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export class ProvisionError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'ProvisionError'
  }
}

export const usageError = (message: string, hint?: string) => new ProvisionError(message, EXIT.usage, hint)

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
