/** Where a client-side tool (health, probe) connects: the server's base port P on a host. */
export interface ProbeTarget {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port` or a bare host (port 5555, the add-on's default). */
export function parseTarget(text: string): ProbeTarget | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(text.trim());
  if (m === null) return undefined;
  const port = m[3] === undefined ? 5555 : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65533) return undefined;
  return { host: m[1] ?? m[2], port };
}
