/**
 * The downloads of one worker: at most one per model, each with its live view (bytes, rate,
 * ETA, state) reported to a listener (the `download` push), cancellable, and the last outcome
 * kept so a screen opened later still shows why a download failed.
 */
import { rm } from 'node:fs/promises';
import { DownloadError, downloadModelFile, partFilePath, type DownloadRequest } from './download.js';
import type { DownloadView } from './download-view.js';

export type { DownloadView };

/** What starting a download needs (the manager adds progress and cancellation). */
export type DownloadSpec = Omit<DownloadRequest, 'signal' | 'onProgress' | 'dir'>;

interface Running {
  view: DownloadView;
  controller: AbortController;
  done: Promise<void>;
}

/** Runs and tracks the downloads into one models folder. */
export class DownloadManager {
  private readonly downloads = new Map<string, Running>();
  /** Failed downloads, kept until retried so the error can be shown. */
  private readonly failed = new Map<string, DownloadView>();

  constructor(
    private readonly dir: string,
    private readonly report: (view: DownloadView) => void,
    private readonly onInstalled: (id: string, path: string) => void = () => undefined,
  ) {}

  /** The download of a model now (running, or failed last time), if any. */
  view(id: string): DownloadView | null {
    return this.downloads.get(id)?.view ?? this.failed.get(id) ?? null;
  }

  /** Whether a download of this model is running. */
  running(id: string): boolean {
    return this.downloads.has(id);
  }

  /** Starts (or resumes) a download; a second call while it runs returns the same one. */
  start(spec: DownloadSpec, partialBytes: number): DownloadView {
    const existing = this.downloads.get(spec.id);
    if (existing) return existing.view;
    this.failed.delete(spec.id);
    const controller = new AbortController();
    const view: DownloadView = { id: spec.id, state: 'downloading', receivedBytes: partialBytes, totalBytes: spec.sizeBytes, bytesPerSecond: null, etaSeconds: null, error: null };
    const entry: Running = { view, controller, done: Promise.resolve() };
    const update = (change: Partial<DownloadView>) => {
      entry.view = { ...entry.view, ...change };
      this.report(entry.view);
    };
    entry.done = downloadModelFile({
      ...spec,
      dir: this.dir,
      signal: controller.signal,
      onProgress: (progress) => update({ ...progress, state: progress.receivedBytes >= progress.totalBytes ? 'verifying' : 'downloading' }),
    }).then(
      (path) => {
        this.downloads.delete(spec.id);
        this.onInstalled(spec.id, path);
        update({ state: 'done', receivedBytes: spec.sizeBytes, etaSeconds: 0 });
      },
      (error: unknown) => {
        this.downloads.delete(spec.id);
        const cancelled = error instanceof DownloadError && error.code === 'cancelled';
        update({ state: cancelled ? 'cancelled' : 'failed', bytesPerSecond: null, etaSeconds: null, error: cancelled ? null : error instanceof Error ? error.message : String(error) });
        if (!cancelled) this.failed.set(spec.id, entry.view);
      },
    );
    this.downloads.set(spec.id, entry);
    this.report(view);
    return view;
  }

  /** Stops a download, keeping the `.part` file for a resume; resolves once it has stopped. */
  async cancel(id: string): Promise<DownloadView | null> {
    const entry = this.downloads.get(id);
    if (!entry) return this.view(id);
    entry.controller.abort();
    await entry.done;
    return entry.view;
  }

  /** Cancels a download if running and deletes what it had received. */
  async discard(id: string): Promise<void> {
    await this.cancel(id);
    this.failed.delete(id);
    await rm(partFilePath(this.dir, id), { force: true });
  }

  /** Stops every download (shutdown); their `.part` files stay for next time. */
  async close(): Promise<void> {
    await Promise.all([...this.downloads.keys()].map((id) => this.cancel(id)));
  }
}
