// desktop-install: a lean XFCE for RDP. --no-install-recommends keeps out lightdm (a display
// manager we do not want on a headless VPS) and light-locker (black screens on reconnect); the
// wallpaper package keeps the desktop from looking broken, and librsvg2-common (gdk-pixbuf's SVG
// loader, only a Recommends) lets xfdesktop draw it: the default wallpaper is an SVG, black without
// it. The polkit rule stops colord prompts.

import { file, packages } from '../src/steps/index.js'
import { definePhase } from '../src/steps/phase.js'
import { template } from '../src/templates.js'

/** Listed with reasons in docs/phases.md. */
export const DESKTOP_PACKAGES = [
  'xfce4',
  'xfce4-terminal',
  'xfce4-notifyd',
  'xfdesktop4-data',
  'librsvg2-common',
  'dbus-x11',
  'fonts-dejavu-core',
  'fonts-liberation2',
  'adwaita-icon-theme',
  'elementary-xfce-icon-theme',
  'polkitd',
  'xdg-utils',
  'firefox-esr',
]

export const POLKIT_RULE = '/etc/polkit-1/rules.d/45-vps-provision-colord.rules'

export const desktopInstall = definePhase({
  name: 'desktop-install',
  title: 'Desktop (XFCE)',
  weight: 10,
  steps: () => [
    packages(DESKTOP_PACKAGES, { id: 'packages', joinsEarlier: true }),
    file({ id: 'polkit-colord', path: POLKIT_RULE, content: template('polkit-colord.rules'), mode: 0o644 }),
  ],
})
