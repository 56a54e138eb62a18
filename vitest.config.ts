import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The e2e files run in name order: scenario C compares its machine with the one scenario A (its
 * VM half: B) saved, and `scenario-a` < `scenario-b` < `scenario-c-vm` < `scenario-c`. Everything
 * else keeps vitest's own order (slowest first, for the parallel unit files).
 */
class E2eInNameOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const e2e = sorted
      .filter((f) => f.project.name === 'e2e')
      .sort((a, b) => (a.moduleId < b.moduleId ? -1 : a.moduleId > b.moduleId ? 1 : 0))
    return [...sorted.filter((f) => f.project.name !== 'e2e'), ...e2e]
  }
}

/**
 * The e2e scenarios boot containers and provision them for many minutes: they run only when a
 * command names their project (`npm run e2e`, `npm run bench`), never as part of `vitest run`.
 */
const asked = (name: string) =>
  process.argv.some(
    (a, i) => a === `--project=${name}` || (a === name && process.argv[i - 1] === '--project'),
  )

export default defineConfig({
  test: {
    sequence: { sequencer: E2eInNameOrder },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // Real Debian 13 roots and containers: slow, root-only, one at a time.
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
      ...(asked('e2e')
        ? [
            {
              // Booted trixie containers (systemd-nspawn), a real RDP client: see docs/e2e.md.
              test: {
                name: 'e2e',
                include: ['test/e2e/**/*.test.ts'],
                testTimeout: 60 * 60_000,
                hookTimeout: 30 * 60_000,
                fileParallelism: false,
                sequence: { concurrent: false },
              },
            },
          ]
        : []),
      ...(asked('bench')
        ? [
            {
              // One full provisioning and the apt floor, timed: writes docs/benchmarks.md.
              test: {
                name: 'bench',
                include: ['test/e2e/**/*.e2e-bench.ts'],
                testTimeout: 90 * 60_000,
                hookTimeout: 30 * 60_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
})
