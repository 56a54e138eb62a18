/** A stdout/stderr stand-in for the CLI: a terminal or not, with what was written to it. */
export function stream(isTTY: boolean) {
  const chunks: string[] = []
  return { isTTY, write: (s: string) => chunks.push(s) > 0, text: () => chunks.join('') }
}
