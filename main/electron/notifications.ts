/** Native notifications: the Electron shell's `notify` capability (what to say is decided in main/app/notifications.ts). */
import { Notification } from 'electron';

/** Shows a quiet native notification, where the OS supports them. */
export function notify(title: string, body: string): void {
  if (Notification.isSupported()) new Notification({ title, body, silent: true }).show();
}
