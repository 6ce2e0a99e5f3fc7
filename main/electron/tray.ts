/** The tray icon: the menu main/app/tray-menu.ts describes, rebuilt on every sharing change. */
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import type { SharingController } from '../sharing/sharing-controller.js';
import type { SharingMode } from '../sharing/settings.js';
import { trayMenu, type TrayItem } from '../app/tray-menu.js';

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
  const native = (item: TrayItem): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'text':
        return { label: item.label, enabled: false };
      case 'separator':
        return { type: 'separator' };
      case 'switch':
        return { label: item.label, type: 'checkbox', checked: item.checked, click: () => void options.setMode(item.mode) };
      case 'open':
        return { label: item.label, click: options.open };
      case 'quit':
        return { label: item.label, click: options.quit };
    }
  };
  const build = () => {
    const snapshot = options.sharing.snapshot();
    if (snapshot.mode !== 'off') resumeMode = snapshot.mode;
    const menu = trayMenu(snapshot, resumeMode);
    tray.setToolTip(menu.tooltip);
    tray.setContextMenu(Menu.buildFromTemplate(menu.items.map(native)));
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
