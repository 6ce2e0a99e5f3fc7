/** Parsing of the HOST:PORT arguments every command line takes (`--listen`, `--dashboard`). */

/** A host and a TCP port (0 = any free port). */
export interface HostPort {
  host: string;
  port: number;
}

/** Parses "HOST:PORT", "[::1]:PORT" or ":PORT"; an error message names what is wrong. */
export function parseHostPort(text: string, defaultHost = '127.0.0.1'): { ok: true; value: HostPort } | { ok: false; message: string } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) return { ok: false, message: `'${text}' is not HOST:PORT (for example 127.0.0.1:8787).` };
  const port = Number(match[3]);
  if (port > 65535) return { ok: false, message: `Port ${port} is out of range (0–65535).` };
  return { ok: true, value: { host: match[1] ?? (match[2] || defaultHost), port } };
}

/** Formats a host and port as a URL authority, bracketing IPv6 addresses. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
