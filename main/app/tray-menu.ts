/**
 * The tray menu's items, as plain data: the state sentence, the share switch (labelled like
 * the Dashboard's, for the mode it turns on), Open, Quit. The Electron shell turns them into a
 * native menu; tests read them here.
 */
import type { SharingSnapshot } from '../sharing/sharing-controller.js';
import type { SharingMode } from '../sharing/settings.js';
import { explainSharing, switchLabel } from './sharing-words.js';

/** One item of the tray menu. */
export type TrayItem =
  | { kind: 'text'; label: string }
  | { kind: 'separator' }
  | { kind: 'switch'; label: string; checked: boolean; mode: SharingMode }
  | { kind: 'open'; label: string }
  | { kind: 'quit'; label: string };

/** The tray's tooltip and items; `resumeMode` is the mode the switch turns back on. */
export function trayMenu(snapshot: Pick<SharingSnapshot, 'mode' | 'decision'>, resumeMode: Exclude<SharingMode, 'off'>): { tooltip: string; items: TrayItem[] } {
  const on = snapshot.mode !== 'off';
  const { sentence } = explainSharing(snapshot.decision);
  return {
    tooltip: `Silkworm — ${sentence}`,
    items: [
      { kind: 'text', label: sentence },
      { kind: 'separator' },
      // Checking it turns on the mode it names; unchecking turns sharing off.
      { kind: 'switch', label: switchLabel(on ? (snapshot.mode as Exclude<SharingMode, 'off'>) : resumeMode), checked: on, mode: on ? 'off' : resumeMode },
      { kind: 'open', label: 'Open Silkworm' },
      { kind: 'separator' },
      { kind: 'quit', label: 'Quit' },
    ],
  };
}
