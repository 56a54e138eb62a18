// The Ansible module's pure parts (ansible/plugins/modules/vps_provision.py: NDJSON and plan JSON to
// changed, diff, msg), through Python's unittest with Debian's python3, which has ansible-core's
// module_utils when the package is installed. Without it the test says why and skips.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { run } from '../lab/proc.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const PYTHON = '/usr/bin/python3'
const hasAnsible =
  existsSync(PYTHON) &&
  (await run([PYTHON, '-c', 'import ansible.module_utils.basic'], { allowFailure: true })).exitCode === 0
if (!hasAnsible)
  console.warn(
    '\n*** SKIPPED the Ansible module unit tests: /usr/bin/python3 cannot import ansible (bash scripts/install-host-tools.sh installs ansible-core) ***\n',
  )

describe.skipIf(!hasAnsible)('the Ansible module maps the CLI JSON', () => {
  it('python3 -m unittest passes on ansible/tests/unit', async () => {
    const r = await run(
      [PYTHON, '-m', 'unittest', 'discover', '-v', '-s', path.join(ROOT, 'ansible/tests/unit')],
      {
        allowFailure: true,
        timeoutMs: 60_000,
      },
    )
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/^Ran (\d+) tests/m)
    expect(Number(/^Ran (\d+) tests/m.exec(r.stderr)?.[1])).toBeGreaterThanOrEqual(10)
  })
})
