// `status --wait latest` on a server that cloud-init provisions (docs/cloud-init.md "Waiting for
// the run"). An orchestrator's SSH command may run before the first-boot run has a session: while
// cloud-init still works (it installs vps-provision, then starts the unit), or between the unit's
// start being queued and the run writing its session, or after a reboot, when the newest session
// is the interrupted one and the unit is queued to resume it. Then "latest" must not be resolved
// yet: the wait first waits for the first-boot unit to settle, then reads the newest session.
//
// `cloud-init status --wait` cannot stand in for this: it decides from cloud-init's own
// /run/cloud-init/status.json and result.json (and its four services), so it returns as soon as
// runcmd has started the unit, long before the run ends, and knows nothing of the run's exit code.
import { promises as fsp } from 'node:fs'
import path from 'node:path'
import type { System } from '../system/port.js'
import { FIRST_BOOT_UNIT } from './first-boot-names.js'

/** What decides whether the first-boot run is still to come or in progress. */
export interface FirstBootState {
  /** cloud-init has started this boot and not finished (status.json without result.json). */
  cloudInitRunning: boolean
  /** The unit's file exists (it deletes itself once a run succeeded). */
  unitLoaded: boolean
  /** systemd's ActiveState of the unit (inactive, activating, active, failed, …). */
  active: string
  /** A start job is queued for it (at boot it waits for cloud-final.service). */
  jobQueued: boolean
  /** ExecMainStatus: the exit code of its last run, or null before any. */
  exitStatus: number | null
}

export interface FirstBootProbe {
  state(): Promise<FirstBootState>
}

const RUNNING = new Set(['activating', 'deactivating', 'reloading', 'refreshing'])

/** The first-boot run is still to come or in progress: "latest" is not yet the session to wait for. */
export function firstBootPending(s: FirstBootState): boolean {
  if (s.cloudInitRunning) return true
  if (!s.unitLoaded) return false
  return RUNNING.has(s.active) || s.jobQueued
}

/** The real probe: systemctl through the System port, cloud-init's run files read directly. */
export function systemdFirstBootProbe(sys: System, cloudInitRunDir = '/run/cloud-init'): FirstBootProbe {
  const unit = `${FIRST_BOOT_UNIT}.service`
  const exists = (p: string) =>
    fsp.lstat(p).then(
      () => true,
      () => false,
    )
  return {
    async state() {
      const [status, result, show, jobs] = await Promise.all([
        exists(path.join(cloudInitRunDir, 'status.json')),
        exists(path.join(cloudInitRunDir, 'result.json')),
        sys.exec(
          [
            'systemctl',
            'show',
            '--property=LoadState',
            '--property=ActiveState',
            '--property=ExecMainStatus',
            '--property=ExecMainStartTimestampMonotonic',
            '--',
            unit,
          ],
          { allowFailure: true, timeoutMs: 30_000 },
        ),
        sys.exec(['systemctl', 'list-jobs', '--plain', '--no-legend', '--', unit], {
          allowFailure: true,
          timeoutMs: 30_000,
        }),
      ])
      const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(show.stdout)?.[1]?.trim() ?? ''
      const started = Number(get('ExecMainStartTimestampMonotonic') || '0') > 0
      return {
        cloudInitRunning: status && !result,
        unitLoaded: show.exitCode === 0 && get('LoadState') === 'loaded',
        active: get('ActiveState') || 'unknown',
        jobQueued: jobs.exitCode === 0 && jobs.stdout.split('\n').some((l) => l.includes(unit)),
        exitStatus: started && /^\d+$/.test(get('ExecMainStatus')) ? Number(get('ExecMainStatus')) : null,
      }
    },
  }
}

/**
 * Waits while the first-boot run is pending (firstBootPending), polling every `pollMs`. Returns the
 * settled state, or null when `signal` aborted first (timeout or Ctrl-C).
 */
export async function waitForFirstBoot(
  probe: FirstBootProbe,
  pollMs: number,
  signal: AbortSignal,
  sleep: (ms: number, signal: AbortSignal) => Promise<boolean>,
): Promise<FirstBootState | null> {
  for (;;) {
    if (signal.aborted) return null
    const s = await probe.state()
    if (!firstBootPending(s)) return s
    if (await sleep(pollMs, signal)) return null
  }
}
