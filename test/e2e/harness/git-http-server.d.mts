// Types of what git-http-server.mjs exports (it stays plain JavaScript: the container runs it as is).
import type { IncomingMessage, ServerResponse } from 'node:http'

export function tokenMatches(header: string | undefined, token: string): boolean
export function gitCgi(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  u: URL,
  log: (status: number) => void,
): void
