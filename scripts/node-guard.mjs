// The bundle's first lines: refuse a Node.js older than 20.19 in words, before anything else runs.
// The bundle is built for and tested on Debian 13's nodejs (20.19); Debian 12 ships Node 18, where
// the fix is the OS, not nodejs, so the message names the OS as preflight would. Written in the
// oldest syntax so that any Node able to load the bundle as a module gets this far. (A copy without
// the .mjs name is read as CommonJS by Node < 20.19 and fails to parse before any line runs:
// install the bundle under its .mjs name, see README.md.)
export const MIN_NODE = [20, 19]

export const nodeGuard = `import { readFileSync as __vpsGuardRead } from 'node:fs';
;(function () {
  var v = process.versions.node.split('.').map(Number)
  if (v[0] > ${MIN_NODE[0]} || (v[0] === ${MIN_NODE[0]} && v[1] >= ${MIN_NODE[1]})) return
  var os = {}
  var text = ''
  try { text = __vpsGuardRead('/etc/os-release', 'utf8') } catch (e) {
    try { text = __vpsGuardRead('/usr/lib/os-release', 'utf8') } catch (e2) {}
  }
  text.split('\\n').forEach(function (line) {
    var m = /^([A-Z0-9_]+)=(["']?)(.*)\\2$/.exec(line.trim())
    if (m) os[m[1]] = m[3]
  })
  var trixie = os.ID === 'debian' && os.VERSION_ID === '13'
  process.stderr.write(
    'Unable to start vps-provision: it needs Node.js ${MIN_NODE.join('.')} or newer (this is ' + process.version + ').\\n' +
      (trixie
        ? "Install Debian 13's own nodejs (20.19): apt-get install nodejs\\n"
        : 'This machine is ' + (os.PRETTY_NAME || 'unknown') + ' (ID=' + (os.ID || '?') + ', VERSION_ID=' +
          (os.VERSION_ID || '?') + ') (required: ID=debian, VERSION_ID=13): install Debian 13 (trixie), whose nodejs is 20.19\\n'),
  )
  process.exit(1)
})();`
