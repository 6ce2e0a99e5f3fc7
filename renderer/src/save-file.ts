/**
 * Saves text the worker produced (a CSV export) as a file, the same way in the dashboard and
 * in Electron: a Blob behind a short-lived object URL and a download link. Nothing leaves the
 * machine; the browser (or Electron's save dialog) picks where it goes.
 */

/** Offers `text` for download as `filename`. */
export function saveTextFile(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL by now; free it on the next turn.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
