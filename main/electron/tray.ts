/** The tray icon: the share toggle, the current state and why, open, quit. */
import { Menu, Tray, nativeImage } from 'electron';
import type { SharingController } from '../sharing/sharing-controller.js';
import type { SharingMode } from '../sharing/settings.js';

/** What the tray needs from the rest of the app. */
export interface TrayOptions {
  iconPath: string;
  sharing: SharingController;
  /** Switches the mode (through the same service the UI uses, so it is stored). */
  setMode(mode: SharingMode): Promise<void>;
  open(): void;
  quit(): void;
}

/** Creates the tray; it rebuilds its menu on every sharing decision. Returns the stop function. */
export function createTray(options: TrayOptions): () => void {
  const tray = new Tray(nativeImage.createFromPath(options.iconPath));
  let resumeMode: Exclude<SharingMode, 'off'> = 'idle';
  const build = () => {
    const { decision, mode } = options.sharing.snapshot();
    if (mode !== 'off') resumeMode = mode;
    tray.setToolTip(`Silkworm — ${decision.summary}`);
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: decision.summary, enabled: false },
        { type: 'separator' },
        { label: 'Share GPU when idle', type: 'checkbox', checked: mode !== 'off', click: (item) => void options.setMode(item.checked ? resumeMode : 'off') },
        { label: 'Open Silkworm', click: options.open },
        { type: 'separator' },
        { label: 'Quit', click: options.quit },
      ]),
    );
  };
  build();
  tray.on('click', options.open);
  options.sharing.on('decision', build);
  options.sharing.on('update', build);
  return () => {
    options.sharing.off('decision', build);
    options.sharing.off('update', build);
    tray.destroy();
  };
}
