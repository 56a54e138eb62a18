// The developers a configuration provisions: `users:` when it lists any, else the one `username`
// (with `fullName`), who gets sudo as the single developer always did. The first is the primary
// developer: the one the summary, the credentials file and cloud-init's message name.
import type { Config } from './schema.js'
import type { Developer } from './team-schema.js'

export type { Developer }

export function developers(cfg: Config): Developer[] {
  if (cfg.users.length > 0) return cfg.users
  const { username: name, fullName, passwordHash, passwordFile } = cfg
  return [
    { name, fullName, sudo: true, sshKeys: [], sshKeysFile: null, repos: [], passwordHash, passwordFile },
  ]
}
