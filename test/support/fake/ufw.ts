// ufw keeps its state in its own files (/etc/ufw/ufw.conf, user.rules, /etc/default/ufw), so the
// firewall is part of the snapshot and purging the package takes it away, as on Debian.
import type { FakeFs } from './fs.js'
import { fail, type Handler, ok, Unsupported } from './types.js'

interface Rule {
  action: 'allow' | 'deny' | 'limit' | 'reject'
  port: string
  proto: string
}

const CONF = '/etc/ufw/ufw.conf'
const RULES = '/etc/ufw/user.rules'
const DEFAULTS = '/etc/default/ufw'
const ACTIONS = new Set(['allow', 'deny', 'limit', 'reject'])

function readRules(fs: FakeFs): Rule[] {
  return (fs.text(RULES) ?? '')
    .split('\n')
    .map((l) => /^### tuple ### (\w+) (\w+) (\d+) /.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ action: m[1] as Rule['action'], proto: m[2] as string, port: m[3] as string }))
}

function writeRules(fs: FakeFs, rules: Rule[]): void {
  const text = rules
    .map((r) => {
      const p = r.proto === 'any' ? '' : `-p ${r.proto} `
      const target = r.action === 'allow' ? 'ACCEPT' : r.action === 'limit' ? 'ufw-user-limit' : 'DROP'
      return `### tuple ### ${r.action} ${r.proto} ${r.port} 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input ${p}--dport ${r.port} -j ${target}\n`
    })
    .join('')
  fs.write(RULES, text, { mode: 0o640 })
}

function setConf(fs: FakeFs, path: string, key: string, value: string): void {
  const text = fs.text(path) ?? ''
  const re = new RegExp(`^${key}=.*$`, 'm')
  const line = `${key}=${value}`
  fs.write(path, re.test(text) ? text.replace(re, line) : `${text}${line}\n`, { mode: 0o644 })
}

const confValue = (fs: FakeFs, path: string, key: string) =>
  new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(fs.text(path) ?? '')?.[1]

function parseRule(action: string, spec: string | undefined, extra: string[]): Rule {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(spec ?? '')
  if (!ACTIONS.has(action) || !m || extra.length > 0) throw new Unsupported(`ufw ${action} ${spec ?? ''}`)
  return { action: action as Rule['action'], port: m[1] as string, proto: m[2] ?? 'any' }
}

export const ufw: Handler = (ctx, args) => {
  const force = args.includes('--force')
  const [command, ...rest] = args.filter((a) => a !== '--force')
  const fs = ctx.fs
  const rules = readRules(fs)
  const same = (a: Rule, b: Rule) => a.action === b.action && a.port === b.port && a.proto === b.proto
  switch (command) {
    case 'status':
      return ok(status(fs, rules, rest[0] === 'verbose'))
    case 'show': {
      if (rest[0] !== 'added') throw new Unsupported(`ufw show ${rest.join(' ')}`)
      const added = rules.map(
        (r) => `ufw ${r.action} ${r.proto === 'any' ? r.port : `${r.port}/${r.proto}`}\n`,
      )
      return ok(`Added user rules (see 'ufw status' for running firewall):\n${added.join('') || '(None)\n'}`)
    }
    case 'enable':
      if (!force) {
        return fail(
          1,
          '',
          'Command may disrupt existing ssh connections. Proceed with operation (y|n)? Aborted\n',
        )
      }
      setConf(fs, CONF, 'ENABLED', 'yes')
      return ok('Firewall is active and enabled on system startup\n')
    case 'disable':
      setConf(fs, CONF, 'ENABLED', 'no')
      return ok('Firewall stopped and disabled on system startup\n')
    case 'reset':
      if (!force)
        return fail(
          1,
          '',
          'Resetting all rules to installed defaults. Proceed with operation (y|n)? Aborted\n',
        )
      setConf(fs, CONF, 'ENABLED', 'no')
      writeRules(fs, [])
      return ok('Resetting all rules to installed defaults.\n')
    case 'default': {
      const [policy, direction = 'incoming'] = rest
      const key = { incoming: 'DEFAULT_INPUT_POLICY', outgoing: 'DEFAULT_OUTPUT_POLICY' }[direction]
      const value = { deny: 'DROP', allow: 'ACCEPT', reject: 'REJECT' }[policy ?? '']
      if (!key || !value) throw new Unsupported(`ufw default ${rest.join(' ')}`)
      setConf(fs, DEFAULTS, key, `"${value}"`)
      return ok(
        `Default ${direction} policy changed to '${policy}'\n(be sure to update your rules accordingly)\n`,
      )
    }
    case 'delete': {
      const [action = '', spec, ...extra] = rest
      const rule = parseRule(action, spec, extra)
      if (!rules.some((r) => same(r, rule))) {
        return ok('Could not delete non-existent rule\nCould not delete non-existent rule (v6)\n')
      }
      writeRules(
        fs,
        rules.filter((r) => !same(r, rule)),
      )
      return ok('Rule deleted\nRule deleted (v6)\n')
    }
    default: {
      const [spec, ...extra] = rest
      const rule = parseRule(command ?? '', spec, extra)
      if (rules.some((r) => same(r, rule)))
        return ok('Skipping adding existing rule\nSkipping adding existing rule (v6)\n')
      writeRules(fs, [...rules, rule])
      return ok('Rules updated\nRules updated (v6)\n')
    }
  }
}

function status(fs: FakeFs, rules: Rule[], verbose: boolean): string {
  if (confValue(fs, CONF, 'ENABLED') !== 'yes') return 'Status: inactive\n'
  const policy = (key: string, fallback: string) =>
    ({ DROP: 'deny', ACCEPT: 'allow', REJECT: 'reject' })[confValue(fs, DEFAULTS, key) ?? fallback] ?? 'deny'
  let out = 'Status: active\n'
  if (verbose) {
    out += 'Logging: on (low)\n'
    out += `Default: ${policy('DEFAULT_INPUT_POLICY', 'DROP')} (incoming), ${policy('DEFAULT_OUTPUT_POLICY', 'ACCEPT')} (outgoing), disabled (routed)\n`
    out += 'New profiles: skip\n'
  }
  if (rules.length === 0) return out
  out += '\nTo                         Action      From\n--                         ------      ----\n'
  const action = (r: Rule) => `${r.action.toUpperCase()}${verbose ? ' IN' : ''}`
  const to = (r: Rule) => (r.proto === 'any' ? r.port : `${r.port}/${r.proto}`)
  for (const v6 of [false, true]) {
    for (const r of rules) {
      out += `${`${to(r)}${v6 ? ' (v6)' : ''}`.padEnd(27)}${action(r).padEnd(12)}Anywhere${v6 ? ' (v6)' : ''}\n`
    }
  }
  return out
}
