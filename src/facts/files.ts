// Reading files of the managed machine as text.
import type { System } from '../system/port.js'

export async function readText(sys: System, path: string): Promise<string | null> {
  const data = await sys.readFile(path)
  return data === null ? null : data.toString('utf8')
}
