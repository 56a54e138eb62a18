// debInstall(): a local .deb (Cursor ships no apt repository). apt-get, not dpkg -i, so its
// dependencies come in the same transaction and the simulation names them for the undo.

import { dpkgQuery, isInstalled } from '../facts/packages.js'
import type { RetryPolicy } from './apt.js'
import { PACKAGE_NAME } from './apt.js'
import { checkInstalled, installTransaction } from './packages.js'
import type { Step } from './types.js'

export interface DebInstallArgs {
  id?: string
  /** Absolute path of the .deb on the managed machine (usually a download step's dest). */
  path: string
  /** The package the .deb contains: how check() recognises it as installed. */
  packageName: string
  recommends?: boolean
  retry?: Partial<RetryPolicy>
}

export function debInstall(args: DebInstallArgs): Step {
  if (!PACKAGE_NAME.test(args.packageName))
    throw new Error(`Unable to define deb step: ${args.packageName} is not a Debian package name`)
  if (!args.path.startsWith('/'))
    throw new Error(`Unable to define deb step: ${args.path} is not an absolute path`)
  return {
    id: args.id ?? `deb.${args.packageName}`,
    title: `Install ${args.packageName} from ${args.path}`,
    check: (sys) => checkInstalled(sys, [args.packageName]),
    async apply(ctx) {
      if (isInstalled((await dpkgQuery(ctx.sys, [args.packageName])).get(args.packageName))) return
      // An absolute path tells apt-get the argument is a file, not a package name.
      await installTransaction(ctx, [args.path], `${args.packageName} (${args.path})`, {
        recommends: args.recommends ?? false,
        retry: args.retry,
        fallbackUndo: [args.packageName],
      })
    },
  }
}
