/**
 * An argv word that reaches the program unchanged through a systemd unit's command line: systemd
 * expands `$VAR` and `${VAR}` there (dpkg-query's `${Package}` would arrive empty), and `$$` is a
 * literal `$`. (--expand-environment=no would do it, but needs systemd 254; bookworm has 252.)
 */
export const systemdLiteral = (arg: string): string => arg.replaceAll('$', () => '$$')
