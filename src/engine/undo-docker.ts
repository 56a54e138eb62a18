// The Docker undo kinds. remove-docker-volume removes a volume we made, and only while it carries
// our labels. keep-docker-data protects what a person made from Debian's purge of docker.io: its
// prerm copies /usr/share/docker.io/contrib/nuke-graph-directory.sh into /var/lib/docker when that
// script is executable, and its postrm (purge) runs the copy, which deletes everything in
// /var/lib/docker, every volume included. Rollback runs this undo just before that purge (it is
// journaled after the install); when /var/lib/docker holds a volume, image or container this
// session did not make, it takes the executable bit off the script, so the purge leaves
// /var/lib/docker as it is: a reinstalled engine finds the person's volumes again.
import { dockerVolume, isOurs } from '../facts/docker.js'
import { dpkgQuery, isPresent } from '../facts/packages.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { CommandError, type System } from '../system/port.js'
import { skipped, type UndoOf, undone } from './undo-outcome.js'

export const NUKE_SCRIPT = '/usr/share/docker.io/contrib/nuke-graph-directory.sh'
/** Where docker.io's prerm copies it; a copy left by an earlier `apt-get remove` would run too. */
const NUKE_COPY = '/var/lib/docker/nuke-graph-directory.sh'

export async function removeDockerVolume(sys: System, undo: UndoOf<'remove-docker-volume'>) {
  const v = await dockerVolume(sys, undo.volume)
  if (v.state === 'no-docker') return skipped(`docker is not installed; volume ${undo.volume} is not there`)
  if (v.state === 'absent') return skipped(`volume ${undo.volume} does not exist`)
  if (v.state === 'unknown')
    throw new ProvisionError(
      `Unable to remove Docker volume ${undo.volume}: docker could not say whether it is ours: ${v.detail}`,
      EXIT.rollback,
      'Start the engine (`systemctl start docker`) and run rollback again.',
    )
  if (!isOurs(v.labels, undo.session))
    return skipped(`volume ${undo.volume} is not labelled as this session's; left alone`)
  const argv = ['docker', 'volume', 'rm', undo.volume]
  const r = await sys.exec(argv, { allowFailure: true })
  if (r.exitCode !== 0)
    throw new ProvisionError(
      `Unable to remove Docker volume ${undo.volume}: ${new CommandError(argv, r).message}`,
      EXIT.rollback,
      `A container still uses it: \`docker ps -a --filter volume=${undo.volume}\`; remove that container, then run rollback again.`,
    )
  return undone(`removed Docker volume ${undo.volume}`)
}

/** What the engine holds that `session` did not make, in words (none: empty); 'unknown': docker did not say. */
async function notOurs(sys: System, session: string): Promise<string[] | 'unknown'> {
  const list = async (argv: string[]) => {
    const r = await sys.exec(argv, { allowFailure: true })
    return r.exitCode === 0 ? r.stdout.split('\n').filter((l) => l.trim() !== '') : null
  }
  const volumes = await list(['docker', 'volume', 'ls', '--quiet'])
  const images = await list(['docker', 'image', 'ls', '--all', '--quiet'])
  const containers = await list(['docker', 'container', 'ls', '--all', '--quiet'])
  if (!volumes || !images || !containers) return 'unknown'
  const theirs: string[] = []
  for (const name of volumes) {
    const v = await dockerVolume(sys, name)
    if (v.state !== 'present' || !isOurs(v.labels, session)) theirs.push(`volume ${name}`)
  }
  // This tool makes no image and no container: each one is someone's.
  if (images.length > 0) theirs.push(`${images.length} image(s)`)
  if (containers.length > 0) theirs.push(`${containers.length} container(s)`)
  return theirs
}

export async function keepDockerData(sys: System, undo: UndoOf<'keep-docker-data'>) {
  const state = await dpkgQuery(sys, ['docker.io'])
  if (!isPresent(state.get('docker.io'))) return skipped('docker.io is not installed')
  const theirs = await notOurs(sys, undo.session)
  if (Array.isArray(theirs) && theirs.length === 0)
    return skipped("/var/lib/docker holds only what this session made: docker.io's purge empties it")
  const why =
    theirs === 'unknown'
      ? 'docker did not answer, so it may hold what a person made'
      : `it holds ${theirs.join(', ')}`
  let disarmed = false
  for (const script of [NUKE_SCRIPT, NUKE_COPY]) {
    const st = await sys.stat(script)
    if (st?.kind !== 'file' || (st.mode & 0o111) === 0) continue
    const argv = ['chmod', '0644', script]
    const r = await sys.exec(argv, { allowFailure: true })
    if (r.exitCode !== 0)
      throw new ProvisionError(
        `Unable to keep /var/lib/docker through the purge of docker.io: ${new CommandError(argv, r).message}`,
        EXIT.rollback,
      )
    disarmed = true
  }
  if (!disarmed) return skipped(`nothing would empty /var/lib/docker (${why})`)
  return undone(`kept /var/lib/docker for after docker.io's purge: ${why}`)
}
