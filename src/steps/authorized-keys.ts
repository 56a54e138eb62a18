// Root's SSH keys, made fit for the developer. Cloud images often block root logins by prefixing
// each of root's keys with options like `no-pty,command="echo 'Please login as the user …';exit 142"`:
// copied as they are, the developer could not log in either. Such a forced command is dropped
// with the options around it; other options (from=, restrictions without a command) are kept.

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-\S+|sk-(ssh-ed25519|ecdsa-sha2-\S+)@openssh\.com)$/

export function keysForDeveloper(rootKeys: string): string {
  const out: string[] = []
  for (const raw of rootKeys.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const keyAt = keyStart(line)
    if (keyAt < 0) continue
    const options = line.slice(0, keyAt).trim()
    const key = line.slice(keyAt)
    out.push(options === '' || /(^|,)\s*command="/.test(options) ? key : `${options} ${key}`)
  }
  return out.length > 0 ? `${out.join('\n')}\n` : ''
}

/** Index of the key type token, skipping an options field that may contain quoted spaces. */
function keyStart(line: string): number {
  let inQuotes = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '"' && line[i - 1] !== '\\') inQuotes = !inQuotes
    if (inQuotes || (i > 0 && line[i - 1] !== ' ' && line[i - 1] !== '\t')) continue
    const token = line.slice(i).split(/\s/, 1)[0] ?? ''
    if (KEY_TYPE.test(token)) return i
  }
  return -1
}
