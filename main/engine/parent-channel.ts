/**
 * The job process's one channel to its parent: Node's IPC when forked by the headless worker,
 * Electron's `process.parentPort` when started by `utilityProcess`. Same messages either way.
 */

/** Sends to and receives from the parent process. */
export interface ParentChannel {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the parent goes away. */
  onDisconnect(listener: () => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  on(event: 'close', listener: () => void): void;
}

/** Finds the channel this process was started with; throws when it has none. */
export function connectToParent(): ParentChannel {
  const port = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (port) {
    return {
      send: (message) => port.postMessage(message),
      onMessage: (listener) => port.on('message', (event) => listener(event.data)),
      onDisconnect: (listener) => port.on('close', listener),
    };
  }
  const send = process.send?.bind(process);
  if (!send) throw new Error('The job process must be started by the worker (no IPC channel).');
  return {
    send: (message) => send(message),
    onMessage: (listener) => process.on('message', listener),
    onDisconnect: (listener) => process.once('disconnect', listener),
  };
}
