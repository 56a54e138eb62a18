// Helpers for VM scenarios that provision through cloud-init: the NoCloud seed made from exactly
// what `vps-provision cloud-init` prints, and waiting for the first-boot unit while logging the
// run's progress (each phase start, with the time since the unit started).
import { createHash } from 'node:crypto'
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { expect } from 'vitest'
import { FIRST_BOOT_LOG, FIRST_BOOT_UNIT } from '../../../src/cli/cloud-init.js'
import { sleep } from '../../lab/mounts.js'
import { run } from '../../lab/proc.js'
import type { QemuMachine } from './qemu.js'
import type { VmWorld } from './vm-world.js'
import { standInConfig, TOOL_BUNDLE } from './world.js'

/**
 * The seed: user-data is `vps-provision cloud-init --config FILE --from-bundle URL --sha256 HEX`
 * run on the host with the built bundle, byte for byte; the bundle is served to the guest by the
 * harness (plain http, so the sha256 pins it, as docs/cloud-init.md requires).
 */
export async function makeSeed(w: Omit<VmWorld, 'machine'>, instanceId: string): Promise<string> {
  await copyFile(TOOL_BUNDLE, path.join(w.filesDir, 'vps-provision.mjs'))
  const sha256 = createHash('sha256')
    .update(await readFile(TOOL_BUNDLE))
    .digest('hex')
  const config = path.join(w.runDir, 'config.yaml')
  await writeFile(config, standInConfig(w), { mode: 0o644 })
  const r = await run(
    [
      process.execPath,
      TOOL_BUNDLE,
      'cloud-init',
      '--config',
      config,
      '--from-bundle',
      `${w.filesUrl}/vps-provision.mjs`,
      '--sha256',
      sha256,
    ],
    { timeoutMs: 60_000 },
  )
  const userData = path.join(w.runDir, 'user-data')
  await writeFile(userData, r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n`)
  await copyFile(userData, path.join(w.dir, 'user-data.yaml'))
  const metaData = path.join(w.runDir, 'meta-data')
  await writeFile(metaData, `instance-id: ${instanceId}\nlocal-hostname: vps-e2e\n`)
  const seed = path.join(w.runDir, 'seed.img')
  await run(['cloud-localds', seed, userData, metaData], { timeoutMs: 60_000 })
  w.log(`seed ${seed}: user-data ${Buffer.byteLength(r.stdout)} bytes from vps-provision cloud-init`)
  return seed
}

export interface UnitState {
  active: string
  result: string
  status: string
}

export async function firstBootUnitState(m: QemuMachine): Promise<UnitState> {
  const r = await m.ssh(
    [
      'systemctl',
      'show',
      '-p',
      'ActiveState',
      '-p',
      'Result',
      '-p',
      'ExecMainStatus',
      `${FIRST_BOOT_UNIT}.service`,
    ],
    { timeoutMs: 60_000 },
  )
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(r.stdout)?.[1] ?? '?'
  return { active: get('ActiveState'), result: get('Result'), status: get('ExecMainStatus') }
}

/**
 * Waits until the first-boot unit is no longer activating (or inactive with nothing run yet),
 * logging each new phase line of its log as it appears. `stopWhen` ends the wait early (a test
 * waiting for a moment to reset). Returns the unit's state and the log's text.
 */
export async function followFirstBoot(
  w: VmWorld,
  opts: {
    timeoutMs: number
    stopWhen?: (log: string) => Promise<boolean> | boolean
    pollMs?: number
    /** Wait for at least this many run sessions in the log (a resumed run after a reset: 2). */
    minSessions?: number
  },
): Promise<{ state: UnitState; log: string; stoppedEarly: boolean }> {
  const started = Date.now()
  const seen = new Set<string>()
  let log = ''
  for (;;) {
    log = (await w.machine.readFile(FIRST_BOOT_LOG).catch(() => null)) ?? ''
    for (const line of log.split('\n')) {
      if (
        /\] phase (started|completed|FAILED|skipped)|session .* started|vps-provision-first-boot:/.test(
          line,
        ) &&
        !seen.has(line)
      ) {
        seen.add(line)
        // After a hard reset the log's last unflushed block reads back as NUL bytes (ext4).
        const shown = line.replace(/\0+/g, (z) => `<${z.length} NUL bytes> `)
        w.log(`+${Math.round((Date.now() - started) / 1000)} s: ${shown}`)
      }
    }
    if (opts.stopWhen && (await opts.stopWhen(log)))
      return { state: await firstBootUnitState(w.machine), log, stoppedEarly: true }
    const state = await firstBootUnitState(w.machine)
    const ran = sessionIdsIn(log).length >= (opts.minSessions ?? 1)
    // '?' (SSH did not answer) is no state: only a settled unit ends the wait.
    const settled = state.active === 'active' || state.active === 'inactive'
    if (state.active === 'failed' || (settled && ran)) return { state, log, stoppedEarly: false }
    if (Date.now() - started > opts.timeoutMs) {
      throw new Error(
        `the first-boot run did not finish in ${opts.timeoutMs} ms (unit ${JSON.stringify(state)}); last lines:\n${log.split('\n').slice(-15).join('\n')}`,
      )
    }
    await sleep(opts.pollMs ?? 15_000)
  }
}

/** The session id the run's output names. */
export function sessionIdsIn(log: string): string[] {
  return [...log.matchAll(/\brun session (\d{8}-\d{6}-[a-z0-9]{6}) started/g)].map((m) => m[1] as string)
}

/**
 * Files and the boot's journal in the guest that contain `secret`, searched inside with the
 * secret on stdin (never on a command line: systemd logs a transient unit's command line).
 */
export async function whereIsSecret(m: QemuMachine, secret: string): Promise<string[]> {
  const script = `IFS= read -r s
for f in /var/log/cloud-init-output.log /var/log/cloud-init.log /var/log/vps-provision* /var/log/vps-provision/*; do
  [ -f "$f" ] && grep -qF -- "$s" "$f" && echo "log: $f"
done
journalctl -b --no-pager -o cat 2>/dev/null | grep -qF -- "$s" && echo "journal: journalctl -b"
grep -rlsF -D skip --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -- "$s" / 2>/dev/null | sed 's/^/file: /'
true`
  const r = await m.exec(['bash', '-c', script], { stdin: `${secret}\n`, timeoutMs: 30 * 60_000 })
  return r.stdout.split('\n').filter(Boolean)
}

export function expectUnitSucceeded(state: UnitState, log: string): void {
  expect(state, log.split('\n').slice(-30).join('\n')).toMatchObject({
    active: 'active',
    result: 'success',
    status: '0',
  })
}
