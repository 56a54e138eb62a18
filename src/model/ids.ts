// Session ids are the one piece of outside input that becomes part of a path, so they are checked
// against one strict pattern before any path is built from them.
import { customAlphabet } from 'nanoid'

const suffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 6)

export const SESSION_ID_PATTERN = /^\d{8}-\d{6}-[0-9a-z]{6}$/

export function newSessionId(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  const date = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`
  const time = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`
  return `${date}-${time}-${suffix()}`
}

export class InvalidSessionId extends Error {
  constructor(input: string) {
    const shown = JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)
    super(`${shown} is not a session id (expected YYYYMMDD-HHMMSS-xxxxxx or "latest")`)
    this.name = 'InvalidSessionId'
  }
}

export function assertSessionId(input: string): string {
  if (!SESSION_ID_PATTERN.test(input)) throw new InvalidSessionId(input)
  return input
}
