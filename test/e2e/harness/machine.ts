// What a scenario needs from a machine under test, whatever boots it: a systemd-nspawn container
// (nspawn.ts) or a qemu VM (qemu.ts). Everything goes through exec or the file calls, never
// through a host path, so a test written against Machine runs on both backends.
import type { RunResult } from '../../lab/proc.js'
import type { ExecOptions } from './nspawn.js'

export type { ExecOptions } from './nspawn.js'

export interface Machine {
  readonly name: string
  /** Boots the machine and returns once commands can run in it. */
  up(): Promise<void>
  /** argv run inside as root, as a transient unit of the machine's own systemd. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<RunResult>
  /** A shell script run inside (sh -eu). */
  sh(script: string, opts?: ExecOptions): Promise<RunResult>
  /** Copies a host file in, owned by root with `mode`. */
  copyIn(hostPath: string, guestPath: string, mode?: number): Promise<void>
  writeFile(guestPath: string, content: string | Buffer, mode?: number): Promise<void>
  /** The file's text, or null when it cannot be read. */
  readFile(guestPath: string): Promise<string | null>
  exists(guestPath: string): Promise<boolean>
  /** The names in a directory (none when it cannot be read). */
  list(guestDir: string): Promise<string[]>
  /** Stops the machine and proves it is gone; safe to call twice or after a failed up(). */
  down(): Promise<void>
}
