import { createHash } from 'node:crypto'

/** Hex sha256 of a string (UTF-8) or bytes: the one hash of files, journal records and checkpoints. */
export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')
