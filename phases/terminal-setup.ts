// terminal-setup: xfce4-terminal as the default terminal, a bash prompt with the git branch, git
// aliases, and a higher inotify watch limit for the IDEs. Edits of shared files are marker-guarded
// blocks; all of it is reversible. The sysctl is applied now only on a real (virtual) machine: a
// container's /proc/sys is read-only, and a chroot's belongs to the host.
import { developers } from '../src/config/developers.js'
import { homeFiles } from '../src/steps/home-files.js'
import { command, file, markedBlock, packages } from '../src/steps/index.js'
import { forUser } from '../src/steps/lazy.js'
import { definePhase, ownedBy } from '../src/steps/phase.js'
import type { Step } from '../src/steps/types.js'
import { template } from '../src/templates.js'

export const SYSCTL_DROPIN = '/etc/sysctl.d/60-vps-provision-inotify.conf'
export const INOTIFY_WATCHES = 524288

export const terminalSetup = definePhase({
  name: 'terminal-setup',
  title: 'Terminal and git',
  weight: 1,
  steps: ({ cfg, facts }) => {
    const applySysctl = !facts.chroot && !facts.container
    return [
      // Usually installed by desktop-install already; listed so this phase also runs on its own.
      packages(['xfce4-terminal', 'bash-completion', 'git'], { id: 'packages', joinsEarlier: true }),
      command({
        id: 'default-terminal',
        title: 'xfce4-terminal as the system default terminal',
        argv: ['update-alternatives', '--set', 'x-terminal-emulator', '/usr/bin/xfce4-terminal.wrapper'],
        undo: ['update-alternatives', '--auto', 'x-terminal-emulator'],
        undoAllowFailure: true,
        check: async (sys) => {
          const r = await sys.exec(['update-alternatives', '--query', 'x-terminal-emulator'], {
            allowFailure: true,
          })
          const value = /^Value: (.*)$/m.exec(r.stdout)?.[1] ?? 'none'
          const done = value === '/usr/bin/xfce4-terminal.wrapper'
          return { done, observed: `x-terminal-emulator=${value}`, why: `x-terminal-emulator is ${value}` }
        },
      }),
      ...developers(cfg).flatMap((dev, i) => {
        // The first developer keeps the one-developer ids, so its sessions resume.
        const id = (base: string) => (i === 0 ? base : `${base}.${dev.name}`)
        return ownedBy(dev.name, [
          ...homeFiles(id('xfce-helpers'), dev.name, [
            // XFCE's "Default Applications" dialog rewrites it: a seed, the user's later choice wins.
            { path: '.config/xfce4/helpers.rc', content: template('helpers.rc'), mode: 0o644, seed: true },
          ]),
          homeBlock(id('bashrc'), dev.name, '.bashrc', 'prompt', template('bashrc-block')),
          homeBlock(id('gitconfig'), dev.name, '.gitconfig', 'git', template('gitconfig-block')),
        ])
      }),
      file({
        id: 'sysctl-inotify',
        path: SYSCTL_DROPIN,
        content: template('sysctl-inotify.conf'),
        mode: 0o644,
      }),
      ...(applySysctl ? [sysctlApplied()] : []),
    ]
  },
})

function homeBlock(id: string, username: string, rel: string, marker: string, content: string): Step {
  return forUser(id, `~${username}/${rel}: ${marker} block`, username, (u) =>
    markedBlock({ path: `${u.home}/${rel}`, marker, content, mode: 0o644, uid: u.uid, gid: u.gid }),
  )
}

function sysctlApplied(): Step {
  return command({
    id: 'sysctl-apply',
    title: `Apply fs.inotify.max_user_watches=${INOTIFY_WATCHES} now`,
    argv: ['sysctl', '-p', SYSCTL_DROPIN],
    // The previous value returns at the next boot once the drop-in is removed.
    undo: 'irreversible',
    reason: 'the running kernel keeps the raised limit until the next boot; the drop-in itself is removed',
    check: async (sys) => {
      const v = Number((await sys.readFile('/proc/sys/fs/inotify/max_user_watches'))?.toString().trim() ?? 0)
      return {
        done: v >= INOTIFY_WATCHES,
        observed: `max_user_watches>=${INOTIFY_WATCHES}: ${v >= INOTIFY_WATCHES}`,
        why: `max_user_watches is ${v}`,
      }
    },
  })
}
