// A yes/no question on the terminal, for rollback. Asked on stderr so stdout stays clean; Ctrl-C or
// a closed terminal count as "no", so nothing is undone without a clear yes.
import { createInterface } from 'node:readline/promises'

export async function askOnTerminal(
  question: string,
  signal: AbortSignal,
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<boolean> {
  const rl = createInterface({ input, output, terminal: true })
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.on('SIGINT', () => resolve(''))
      rl.on('close', () => resolve(''))
      rl.question(`${question} [y/N] `, { signal }).then(resolve, () => resolve(''))
    })
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
