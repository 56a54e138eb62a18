// At most `limit` of some async work at once: checks are pure queries that each start a process or
// two, and a machine of two cores answers eight of them at once faster than one after another,
// but not a hundred.

/** A wrapper that runs what it is given with at most `limit` running at a time, in call order. */
export function limited(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0
  const waiting: (() => void)[] = []
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    running += 1
    try {
      return await work()
    } finally {
      running -= 1
      waiting.shift()?.()
    }
  }
}
