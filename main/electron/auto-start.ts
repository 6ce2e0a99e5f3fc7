/** Start at login, opt-in: the owner's choice, applied to the OS login items. */
import { app } from 'electron';
import type { AutoStartControl } from '../app/shell.js';

/** Reads and sets the login item (macOS and Windows; Linux desktops use an autostart entry). */
export function createAutoStart(): AutoStartControl {
  return {
    get: () => app.getLoginItemSettings().openAtLogin,
    set: (enabled) => app.setLoginItemSettings({ openAtLogin: enabled, openAsHidden: true, args: enabled ? ['--hidden'] : [] }),
  };
}
