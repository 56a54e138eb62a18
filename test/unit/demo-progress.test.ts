// The demo's screen: which log lines a person sees (issue 19: 1,943 of 2,293 lines on the screen
// were raw apt/dpkg output), and how a stage's progress and time read.
import { describe, expect, it } from 'vitest'
import {
  classify,
  doneLine,
  elapsed,
  heartbeatLine,
  liveLine,
  STAGES,
  stageLine,
} from '../../scripts/demo/progress.js'
import { type Screen, View } from '../../scripts/demo/view.js'

const K = '2026-12-06T03:22:50.944Z demo:'
const P = '2026-12-06T03:23:05Z'

describe('classify', () => {
  it('reads the demo markers', () => {
    expect(classify(`${K} @stage root`, null)).toEqual({ kind: 'stage', stage: 'root' })
    expect(classify(`${K} @note cached: /x`, 'root')).toEqual({ kind: 'note', text: 'cached: /x' })
    expect(classify(`${K} @error FAILED: boom`, 'boot')).toEqual({ kind: 'error', text: 'FAILED: boom' })
    // An unknown stage is not a stage.
    expect(classify(`${K} @stage nonsense`, null).kind).toBe('note')
  })

  it("keeps the keeper's and harness's details, raw output and actions for the log", () => {
    expect(classify(`${K} [demo] boot: systemd-nspawn --keep-unit`, 'boot').kind).toBe('raw')
    expect(
      classify(`${P} [system-prep] | Get:1 http://10.213.198.1:44301/debian trixie InRelease`, 'provision')
        .kind,
    ).toBe('raw')
    expect(
      classify(`${P} [user-creation] action #3 file /etc/sudoers.d/devuser: done`, 'provision').kind,
    ).toBe('raw')
    // ...though a dpkg line of debootstrap or apt says what a long stage is busy with.
    expect(classify('Unpacking libc6:amd64 (2.41-12) ...', 'root')).toEqual({
      kind: 'raw',
      text: 'Unpacking libc6:amd64 (2.41-12) ...',
      current: 'Unpacking libc6:amd64',
    })
    expect(classify(`${P} [system-prep] | Unpacking perl (5.40) ...`, 'provision')).toEqual({
      kind: 'raw',
      text: `${P} [system-prep] | Unpacking perl (5.40) ...`,
    })
    for (const stage of ['package', null] as const) {
      expect(classify('Setting up vps-provision (0.1.0-1) ...', stage).kind).toBe('raw')
      expect(classify('I: Retrieving InRelease', stage).kind).toBe('raw')
    }
  })

  it("shows vps-provision's one line per step, phases and warnings, without the timestamp", () => {
    expect(
      classify(
        `${P} [system-prep] step system-prep.apt-update: applied (apt-get update has not run yet)`,
        'provision',
      ),
    ).toEqual({
      kind: 'step',
      text: '[system-prep] step system-prep.apt-update: applied (apt-get update has not run yet)',
    })
    expect(classify(`${P} [desktop-install] phase started: Desktop (3 steps)`, 'provision').kind).toBe('step')
    expect(classify(`${P} [session] WARNING: a container`, 'provision').kind).toBe('step')
    // A step's start only names what the stage is busy with.
    expect(
      classify(`${P} [desktop-install] step desktop-install.xfce: started (XFCE desktop)`, 'provision'),
    ).toEqual({
      kind: 'current',
      text: 'desktop-install.xfce (XFCE desktop)',
    })
    const long = `${P} [desktop-install] step desktop-install.packages: started (Install xfce4, xfce4-terminal, xfce4-notifyd, xfdesktop4-data)`
    expect(classify(long, 'provision')).toEqual({
      kind: 'current',
      text: 'desktop-install.packages (Install xfce4, xfce4-terminal, xfce4-notifyd, x…)',
    })
  })

  it('makes failures errors', () => {
    expect(classify(`${P} [rdp-config] step rdp-config.xrdp: FAILED (exit 1)`, 'provision').kind).toBe(
      'error',
    )
    expect(classify(`${P} [rdp-config] phase FAILED after 3s: boom`, 'provision').kind).toBe('error')
    expect(classify(`${P} [session] ERROR: lock held`, 'provision').kind).toBe('error')
  })

  it("shows the run's summary but not its login lines, which name an address nobody outside can use", () => {
    expect(classify('  desktop-install    COMPLETED  1m 49s  2', 'provision').kind).toBe('step')
    expect(
      classify('Tunnel:   ssh -L 3389:localhost:3389 root@10.213.198.2   then ...', 'provision').kind,
    ).toBe('raw')
    expect(classify('RDP:      10.213.198.2:3389', 'provision').kind).toBe('raw')
    expect(classify('Password: in /root/vps-provision-credentials', 'provision').kind).toBe('raw')
  })
})

describe('stage lines', () => {
  it('formats elapsed times', () => {
    expect(elapsed(0)).toBe('0s')
    expect(elapsed(42_900)).toBe('42s')
    expect(elapsed(249_000)).toBe('4m 09s')
    expect(elapsed(3_720_000)).toBe('1h 02m')
  })

  it('numbers the stages and gives each its time and the total', () => {
    expect(STAGES.map((s) => s.id)).toEqual(['package', 'root', 'boot', 'install', 'provision'])
    expect(stageLine('root')).toMatch(/^\[2\/5\] Debian 13 root/)
    expect(doneLine('root', 249_000, 256_000)).toBe('[2/5] done in 4m 09s (total 4m 16s)')
    expect(heartbeatLine(90_000, 'x (y)')).toBe('      ... 1m 30s, now: x (y)')
    const live = liveLine('provision', 65_000, 'desktop-install.xfce (XFCE desktop)', 200)
    expect(live).toBe(
      '[5/5] Provision it (vps-provision run --yes)  1m 05s  desktop-install.xfce (XFCE desktop)',
    )
    expect(liveLine('provision', 65_000, 'a'.repeat(100), 40)).toHaveLength(40)
  })
})

function fakeScreen(columns: number | null): Screen & { text: () => string; errors: () => string } {
  let out = ''
  let err = ''
  return {
    out: (t) => (out += t),
    err: (t) => (err += t),
    columns: () => columns,
    text: () => out,
    errors: () => err,
  }
}

const LOG = [
  `${K} @stage install`,
  'Unpacking vps-provision (0.1.0-1) ...',
  `${K} @stage provision`,
  `${P} [system-prep] | Get:1 http://x/debian trixie/main amd64 perl [1 kB]`,
  `${P} [system-prep] step system-prep.packages: applied (115 packages)`,
  `${P} [rdp-config] step rdp-config.xrdp: FAILED (exit 1)`,
]

describe('View', () => {
  it('normal: stages, steps and errors; raw output only in the log', () => {
    const s = fakeScreen(null)
    const v = new View('normal', s, 0)
    for (const [i, l] of LOG.entries()) v.line(l, i * 1000)
    v.end(10_000)
    expect(s.text()).toContain('[4/5] Install the .deb')
    expect(s.text()).toContain('[4/5] done in 2s (total 2s)')
    expect(s.text()).toContain('[system-prep] step system-prep.packages: applied')
    expect(s.text()).toContain('[5/5] done in 8s (total 10s)')
    expect(s.text()).not.toMatch(/Unpacking|Get:1/)
    expect(s.errors()).toContain('rdp-config.xrdp: FAILED')
  })

  it('verbose: the raw output too; quiet: errors only', () => {
    const loud = fakeScreen(null)
    const v = new View('verbose', loud, 0)
    for (const l of LOG) v.line(l, 0)
    expect(loud.text()).toMatch(/Unpacking vps-provision[\s\S]*Get:1/)
    const quiet = fakeScreen(null)
    const q = new View('quiet', quiet, 0)
    for (const l of LOG) q.line(l, 0)
    q.end(5000)
    expect(quiet.text()).toBe('')
    expect(quiet.errors()).toContain('FAILED')
  })

  it('without a terminal says every 30 s that a long stage goes on; on one, redraws a live line', () => {
    const pipe = fakeScreen(null)
    const v = new View('normal', pipe, 0)
    v.line(`${K} @stage root`, 0)
    for (let t = 0; t <= 95_000; t += 1000) v.tick(t)
    expect(pipe.text().match(/ \.\.\. /g)).toHaveLength(3)
    expect(pipe.text()).toContain('      ... 1m 30s')
    v.line('Setting up libc6:amd64 (2.41-12) ...', 96_000)
    v.tick(125_000)
    expect(pipe.text()).toContain('      ... 2m 05s, now: Setting up libc6:amd64')
    const tty = fakeScreen(80)
    const w = new View('normal', tty, 0)
    w.line(`${K} @stage root`, 0)
    w.tick(3000)
    const clear = '\r\x1b[2K'
    expect(tty.text()).toContain(
      `\n${clear}[2/5] Debian 13 root (debootstrap; cached after the first time)  3s`,
    )
    expect(tty.text().endsWith('3s')).toBe(true)
    w.line(`${K} @note cached`, 4000)
    // The live line is cleared before a line is printed under it.
    expect(tty.text().endsWith(`3s${clear}      cached\n`)).toBe(true)
  })
})
