// The .deb's generated files: the manual page and the bash completion, both read off the real
// commander program (so they list exactly the commands, flags and choices the CLI accepts), the
// copyright file (from the packages esbuild put into the bundle) and the changelog's facts.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Command, Option } from 'commander'
import { memoryStream, newContext } from '../../src/cli/deps.js'
import { EXAMPLES, EXIT_CODES } from '../../src/cli/help.js'
import { buildProgram } from '../../src/cli/program.js'
import { DEFAULT_CONFIG_FILE, OTHER_ENV, SETTING_LIST } from '../../src/config/settings.js'
import { statePaths } from '../../src/engine/paths.js'
import { CREDENTIALS_FILE } from '../../src/steps/developer-password.js'

/** The program as users get it; nothing runs, so the dependencies only have to exist. */
export function cliProgram(version: string): Command {
  const never = () => Promise.reject(new Error('not for documentation'))
  const deps = { engine: never, system: never, paths: statePaths('/'), env: {}, getuid: () => 0, version }
  return buildProgram(newContext(deps, memoryStream(), memoryStream(), []))
}

const visible = (cmd: Command) => cmd.options.filter((o) => !o.hidden)
const takesValue = (o: Option) => o.required || o.optional

// ---------------------------------------------------------------------------------------------
// Manual page

const ASCII: Record<string, string> = { '…': '...', '—': '\\(em', '–': '\\(en', '’': "'", '∞': 'infinity' }

/** Text for roff: escapes, ASCII minus signs, and no line starting with a control character. */
export function roff(text: string): string {
  const escaped = text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(
      /[^\x20-\x7e\n]/g,
      (c) => ASCII[c] ?? `\\[u${c.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}]`,
    )
  return escaped
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n')
}

const b = (s: string) => `\\fB${roff(s)}\\fR`
const i = (s: string) => `\\fI${roff(s)}\\fR`

function optionTerm(o: Option): string {
  const names = [o.short, o.long]
    .filter((n): n is string => Boolean(n))
    .map(b)
    .join(', ')
  const value = /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags)
  return value ? `${names} ${i(value[1] ?? value[2] ?? '')}` : names
}

function optionItems(cmd: Command): string[] {
  return visible(cmd).flatMap((o) => {
    const choices = o.argChoices ? ` (${o.argChoices.join(', ')})` : ''
    return ['.TP', optionTerm(o), roff(`${o.description}${choices}`)]
  })
}

function synopsis(cmd: Command): string {
  const args = cmd.registeredArguments.map((a) => (a.required ? i(a.name()) : `[${i(a.name())}]`))
  return [
    `${b('vps-provision')} ${b(cmd.name())}`,
    ...args,
    visible(cmd).length > 1 ? `[${i('options')}]` : '',
  ]
    .filter(Boolean)
    .join(' ')
}

export function manPage(opts: { version: string; date: string }): string {
  const program = cliProgram(opts.version)
  const commands = program.commands
  const paths = statePaths('/')
  const out: string[] = [
    `.TH VPS\\-PROVISION 1 "${opts.date}" "vps\\-provision ${roff(opts.version)}" "User Commands"`,
    // No hyphenation, ragged right: paths and flags must stay copyable.
    '.nh',
    '.ad l',
    '.SH NAME',
    'vps\\-provision \\- turn a fresh Debian 13 server into a remote developer workstation',
    '.SH SYNOPSIS',
    ...commands.flatMap((c, n) => (n === 0 ? [synopsis(c)] : ['.br', synopsis(c)])),
    '.br',
    `${b('vps-provision')} [${b('--version')} | ${b('--help')} | ${b('help')} [${i('command')}]]`,
    '.SH DESCRIPTION',
    roff(
      'vps-provision turns a fresh Debian 13 (trixie) server into a remote developer workstation: ' +
        'Xfce over RDP (xrdp), VS Code, Cursor and Antigravity, a developer account with sudo, a firewall ' +
        'and a sensible terminal. It is run as root on the server itself.',
    ),
    '.PP',
    roff(
      'A run is idempotent, resumable and reversible. Each change is written to a journal before it is ' +
        'made, together with how to undo it; a phase whose checks all hold is skipped on the next run; ' +
        'an interrupted run resumes where it stopped; rollback undoes a session newest change first.',
    ),
    '.PP',
    roff(
      `At the end, run prints the RDP address, the SSH tunnel command and the user name. A generated ` +
        `password is shown once when the output is a terminal; otherwise it is filed in ${CREDENTIALS_FILE} ` +
        '(mode 0600) and never printed.',
    ),
    '.SH COMMANDS',
  ]
  for (const cmd of commands) {
    out.push('.SS', `${synopsis(cmd)}`, '.PP', roff(cap(cmd.description())))
    if (cmd.registeredArguments.length > 0) {
      for (const a of cmd.registeredArguments) {
        out.push(
          '.TP',
          i(a.name()),
          roff(a.description || 'a session id (such as 20261126-100000-a1b2c3) or "latest"'),
        )
      }
    }
    out.push(...optionItems(cmd))
    const examples = EXAMPLES[cmd.name()] ?? []
    if (examples.length > 0)
      out.push('.PP', 'Examples:', '.PP', '.RS', '.nf', ...examples.map(roff), '.fi', '.RE')
  }
  out.push(
    '.SH CONFIGURATION',
    roff(
      `Settings come from a YAML or JSON file (default ${DEFAULT_CONFIG_FILE}, which may be missing; ` +
        '--config names another, which must exist), then the environment, then the command-line flags, ' +
        'each overriding the one before. The file is checked by a strict schema: an unknown key or a bad ' +
        'value stops the command with exit status 5 and names the key, the value and where it came from.',
    ),
    '.PP',
    roff(
      'An annotated example is in /usr/share/doc/vps-provision/examples/config.yaml and every key is ' +
        'described in /usr/share/doc/vps-provision/configuration.md.gz.',
    ),
    '.SH "EXIT STATUS"',
    ...EXIT_CODES.flatMap(([code, text]) => ['.TP', b(String(code)), roff(cap(text))]),
    '.SH ENVIRONMENT',
    ...SETTING_LIST.flatMap((s) => [
      '.TP',
      b(s.env),
      roff(`Sets ${s.path.join('.')}, as the flag ${s.flag} does.`),
    ]),
    '.TP',
    b('NO_COLOR'),
    roff('No colour, as --no-color.'),
    '.TP',
    b('VPS_PROVISION_DEBUG'),
    roff('Set to 1: stack traces on unexpected errors.'),
    '.PP',
    roff(
      `An empty variable counts as unset. Any other VPS_PROVISION_* variable (except the internal ` +
        `${OTHER_ENV.filter((v) => !['VPS_PROVISION_DEBUG', 'VPS_PROVISION_FOREGROUND'].includes(v)).join(', ')}) is reported as a warning.`,
    ),
    '.SH FILES',
    ...[
      [DEFAULT_CONFIG_FILE, 'The configuration file.'],
      [paths.sessionsDir, 'One JSON file per session (run or rollback).'],
      [
        paths.transactionLog('20261126-100000-a1b2c3').replace('20261126-100000-a1b2c3', '*'),
        "The sessions' journals.",
      ],
      [paths.checkpointsDir, 'Checkpoints of finished phases.'],
      [paths.backupsDir, 'Copies of the files a session changed, for rollback.'],
      [paths.lockFile, 'Held by a run or rollback; a second one exits with status 75.'],
      [paths.cacheDir, 'Downloads (IDE packages, signing keys).'],
      [CREDENTIALS_FILE, 'The generated password, when it was not shown on a terminal (root only).'],
    ].flatMap(([path, text]) => ['.TP', i(path as string), roff(text as string)]),
    '.SH "SEE ALSO"',
    `${b('ssh')}(1), ${b('xrdp')}(8), ${b('cloud-init')}(1)`,
    '.PP',
    roff(
      '/usr/share/doc/vps-provision/: quickstart.md.gz, cli.md.gz, recovery.md.gz, troubleshooting.md.gz, cloud-init.md.gz.',
    ),
    '',
  )
  return out.join('\n')
}

const cap = (s: string) => (s ? `${s[0]?.toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}` : s)

// ---------------------------------------------------------------------------------------------
// Bash completion

/** How the value of a flag is completed: a fixed word list, a comma list, files, or nothing. */
function valueCompletion(o: Option): string {
  if (o.argChoices) return `COMPREPLY=($(compgen -W '${o.argChoices.join(' ')}' -- "$cur"))`
  if (o.long === '--config') return '_vps_provision_files'
  const list = SETTING_LIST.find((s) => s.flag === o.long)?.listOf
  if (list) return `_vps_provision_list '${list.join(' ')}'`
  return ':' // free text: a name, a number, a URL, a hash
}

export function bashCompletion(version: string): string {
  const program = cliProgram(version)
  const commands = program.commands.map((c) => c.name())
  const byCompletion = new Map<string, string[]>()
  for (const cmd of program.commands) {
    for (const o of visible(cmd)) {
      if (!takesValue(o) || !o.long) continue
      const body = valueCompletion(o)
      const flags = byCompletion.get(body) ?? []
      if (!flags.includes(o.long)) flags.push(o.long)
      byCompletion.set(body, flags)
    }
  }
  const valueFlags = [...byCompletion.values()].flat()
  const cases = [...byCompletion].map(([body, flags]) => `    ${flags.join('|')}) ${body}; return ;;`)
  const flagsOf = program.commands.map((c) => {
    const flags = visible(c).flatMap((o) => [o.short, o.long].filter(Boolean))
    return `      ${c.name()}) flags='${[...flags, '--help'].join(' ')}' ;;`
  })
  const sessionCommands = program.commands
    .filter((c) => c.registeredArguments.some((a) => a.name() === 'session'))
    .map((c) => c.name())
  return `# bash completion for vps-provision(1), generated from its command definitions.
# Commands, flags, phase and IDE names, and session ids (readable by root).

_vps_provision_list() {
  # A comma-separated list: complete the item after the last comma.
  local prefix='' last=$cur
  if [[ $cur == *,* ]]; then
    prefix=\${cur%,*},
    last=\${cur##*,}
  fi
  COMPREPLY=($(compgen -P "$prefix" -W "$1" -- "$last"))
  compopt -o nospace 2>/dev/null
}

_vps_provision_files() {
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen -f -- "$cur"))
}

_vps_provision_sessions() {
  local ids='latest' f
  for f in ${statePaths('/').sessionsDir}/session-*.json; do
    [[ -e $f ]] || continue
    f=\${f##*/session-}
    ids+=" \${f%.json}"
  done
  COMPREPLY=($(compgen -W "$ids" -- "$cur"))
}

_vps_provision() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local cmd='' i=1 args=0 flags
  COMPREPLY=()
  # --flag=value, whether or not = splits words (COMP_WORDBREAKS): complete the value.
  if [[ $cur == --*=* ]]; then
    prev=\${cur%%=*}
    cur=\${cur#*=}
  elif [[ $cur == = ]]; then
    cur=''
  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
    prev=\${COMP_WORDS[COMP_CWORD-2]}
  fi
  case $prev in
${cases.join('\n')}
  esac
  # The command, then how many arguments (not flags, not flag values) follow it.
  while ((i < COMP_CWORD)); do
    case \${COMP_WORDS[i]} in
      ${valueFlags.join('|')}) ((i++)); [[ \${COMP_WORDS[i]} == = ]] && ((i++)) ;;
      -* | =) ;;
      *) if [[ -z $cmd ]]; then cmd=\${COMP_WORDS[i]}; else ((args++)); fi ;;
    esac
    ((i++))
  done
  case $cmd in
    '')
      COMPREPLY=($(compgen -W '${[...commands, 'help', '--help', '--version', '-h', '-V'].join(' ')}' -- "$cur"))
      return ;;
    help)
      ((args == 0)) && COMPREPLY=($(compgen -W '${commands.join(' ')}' -- "$cur"))
      return ;;
  esac
  if [[ $cur == -* ]]; then
    case $cmd in
${flagsOf.join('\n')}
      *) flags='--help' ;;
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  case $cmd in
    ${sessionCommands.join('|')}) ((args == 0)) && _vps_provision_sessions ;;
  esac
}

complete -F _vps_provision vps-provision
`
}

// ---------------------------------------------------------------------------------------------
// Copyright

const LICENSE_TEXT: Record<string, string> = {
  Expat: `Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 THE SOFTWARE.`,
  ISC: `Permission to use, copy, modify, and/or distribute this software for any
 purpose with or without fee is hereby granted, provided that the above
 copyright notice and this permission notice appear in all copies.
 .
 THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
  'Apache-2.0': `Licensed under the Apache License, Version 2.0 (the "License"); you may not
 use this file except in compliance with the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0 can
 be found in "/usr/share/common-licenses/Apache-2.0".`,
  'BSD-3-clause': `Redistribution and use in source and binary forms, with or without
 modification, are permitted provided that the following conditions are met:
 .
 1. Redistributions of source code must retain the above copyright notice, this
 list of conditions and the following disclaimer.
 .
 2. Redistributions in binary form must reproduce the above copyright notice,
 this list of conditions and the following disclaimer in the documentation
 and/or other materials provided with the distribution.
 .
 3. Neither the name of the copyright holder nor the names of its
 contributors may be used to endorse or promote products derived from
 this software without specific prior written permission.
 .
 THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
 DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
 FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
 DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
 SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
 CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
 OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
 OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.`,
}
/** npm's SPDX name to the copyright-format name; MIT is the Expat text in all of these packages. */
const SPDX: Record<string, string> = {
  MIT: 'Expat',
  ISC: 'ISC',
  'Apache-2.0': 'Apache-2.0',
  'BSD-3-Clause': 'BSD-3-clause',
}

/** The npm packages esbuild put into the bundle (it marks each module with its path). */
export function bundledPackages(bundle: string): string[] {
  const names = new Set<string>()
  for (const m of bundle.matchAll(/^\/\/ node_modules\/((?:@[^/\n]+\/)?[^/\n]+)\//gm))
    if (m[1]) names.add(m[1])
  return [...names].sort()
}

interface PackageJson {
  name: string
  version: string
  license?: string
  author?: string | { name?: string; email?: string }
}

function holders(dir: string, pkg: PackageJson): string[] {
  const file = ['LICENSE', 'license', 'LICENSE.md', 'LICENSE.txt', 'LICENSE-MIT.txt']
    .map((f) => join(dir, f))
    .find((f) => existsSync(f))
  const lines = file
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^copyright\b/i.test(l) && !/copyright (notice|holders?|owner)/i.test(l))
        .map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, '').trim())
        .filter(Boolean)
    : []
  if (lines.length > 0) return [...new Set(lines)]
  const a = pkg.author
  const who = typeof a === 'string' ? a : a?.name ? `${a.name}${a.email ? ` <${a.email}>` : ''}` : null
  return [who ?? `the ${pkg.name} authors`]
}

export function copyright(opts: {
  bundle: string
  nodeModules: string
  year: string
  holder: string
}): string {
  const used = new Set<string>(['Expat'])
  const paragraphs = bundledPackages(opts.bundle).map((name) => {
    const dir = join(opts.nodeModules, name)
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson
    const license = SPDX[pkg.license ?? '']
    if (!license) throw new Error(`${name}: no known license text for ${JSON.stringify(pkg.license)}`)
    used.add(license)
    const who = holders(dir, pkg)
    return [
      `Files: node_modules/${name}/*`,
      `Copyright: ${who.join('\n ')}`,
      `License: ${license}`,
      `Comment: ${name} ${pkg.version}, bundled into /usr/bin/vps-provision.`,
    ].join('\n')
  })
  return [
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      'Upstream-Name: vps-provision',
      'Comment: /usr/bin/vps-provision is one file built with esbuild from vps-provision and the',
      ' npm packages listed below, which it contains.',
    ].join('\n'),
    ['Files: *', `Copyright: ${opts.year} ${opts.holder}`, 'License: Expat'].join('\n'),
    ...paragraphs,
    ...[...used].sort().map((l) => `License: ${l}\n ${LICENSE_TEXT[l]}`),
  ]
    .join('\n\n')
    .concat('\n')
}

// ---------------------------------------------------------------------------------------------
// Changelog

export interface ChangelogEntry {
  source: string
  version: string
  distribution: string
  maintainer: string
  date: Date
}

export function parseChangelog(text: string): ChangelogEntry {
  const head = /^(\S+) \(([^)]+)\) ([^;]+); urgency=\w+$/m.exec(text)
  const trailer = /^ -- (.+ <[^>]+>) {2}(.+)$/m.exec(text)
  if (!head || !trailer)
    throw new Error(
      'scripts/debian/changelog: no "pkg (version) dist; urgency=" head or " -- who  date" trailer',
    )
  const date = new Date(trailer[2] as string)
  if (Number.isNaN(date.getTime())) throw new Error(`scripts/debian/changelog: bad date ${trailer[2]}`)
  return {
    source: head[1] as string,
    version: head[2] as string,
    distribution: head[3] as string,
    maintainer: trailer[1] as string,
    date,
  }
}
