/** What a download looks like from outside (pure type: the UI's view of it, re-exported by the IPC contract). */

/** A download, in progress or ended; also the payload of the `download` push. */
export interface DownloadView {
  id: string;
  state: 'downloading' | 'verifying' | 'done' | 'failed' | 'cancelled';
  receivedBytes: number;
  totalBytes: number;
  /** Measured over the last seconds; null until known. */
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  /** Why it failed, for the owner. */
  error: string | null;
}
