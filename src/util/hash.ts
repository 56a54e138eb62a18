import { createHash } from 'node:crypto'

/** Hex sha256 of a string (UTF-8) or bytes: the one hash of files, journal records and checkpoints. */
export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex')

/** sha256 and length of a stream of chunks, for files too large to hold in memory (downloads). */
export async function sha256OfChunks(
  chunks: AsyncIterable<Uint8Array>,
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of chunks) {
    hash.update(chunk)
    bytes += chunk.byteLength
  }
  return { bytes, sha256: hash.digest('hex') }
}
