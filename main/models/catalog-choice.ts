/**
 * Which model file a worker serves at start: the one named on the command line (or in the
 * desktop app's config) wins when given; otherwise the one the owner last chose on the Models
 * screen (`modelPath` in app-settings.json), if that file is still there.
 */
import { existsSync } from 'node:fs';

/** The model to start with, and a warning when the remembered choice could not be used. */
export function chooseStartModel(named: string | undefined, remembered: string | undefined): { path: string | undefined; warning: string | null } {
  if (named) return { path: named, warning: null };
  if (remembered && existsSync(remembered)) return { path: remembered, warning: null };
  return { path: undefined, warning: remembered ? `the model chosen last time (${remembered}) is gone; name one with --model` : null };
}
