/**
 * Updates through electron-updater, packaged builds only. Windows updates are installed only
 * when signed by the publisher named in electron-builder.yml (verifyUpdateCodeSignature);
 * macOS updates only when signed and notarized (Squirrel.Mac checks the signature).
 */
import { app } from 'electron';
import electronUpdater from 'electron-updater';
import type { Logger } from '../../network/node-kit/log.js';

/** Checks for an update once after start and then every six hours. */
export function setupAutoUpdate(logger: Logger): void {
  if (!app.isPackaged) return;
  const { autoUpdater } = electronUpdater;
  autoUpdater.logger = { info: (m: unknown) => logger.info(String(m)), warn: (m: unknown) => logger.warn(String(m)), error: (m: unknown) => logger.error(String(m)), debug: () => undefined };
  autoUpdater.autoDownload = true;
  autoUpdater.allowDowngrade = false;
  const check = () => autoUpdater.checkForUpdatesAndNotify().catch((error: unknown) => logger.warn({ err: String(error) }, 'update check failed'));
  void check();
  setInterval(check, 6 * 60 * 60 * 1000).unref();
}
