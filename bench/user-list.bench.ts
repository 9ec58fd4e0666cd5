/**
 * The user list every client receives every second (UpdateClientsState), at the metadata bounds:
 * USERS users (default 4) each holding a ~240 KB selection (10,000 distinct object names), which
 * together reach `MAX_USER_LIST_METADATA_BYTES` (1 MiB). Reports the list's size and the cost of
 * one heartbeat tick that encodes it once for all recipients: median wall and CPU time of ROUNDS
 * ticks (default 7). The machine's cores are shared: CPU time is the figure that is ours.
 */
import { encodeAuthRequest } from '../src/client/index.js';
import { encodeCommand, MessageType, strDict } from '../src/protocol/index.js';
import { Session, type ClientId } from '../src/session/index.js';
import { median, report } from './lib/harness.js';

const users = Number(process.env.USERS ?? 4);
const rounds = Number(process.env.ROUNDS ?? 7);

const session = new Session({ adminPassword: 'bench-admin' });
const ids: ClientId[] = [];
for (let u = 0; u < users; u++) {
  const id = `user-${u}` as ClientId;
  ids.push(id);
  session.handle({
    type: 'message',
    channel: 'command',
    from: id,
    frames: encodeAuthRequest({ username: `user${u}` }),
    now: 1000,
  });
  session.handle({ type: 'message', channel: 'heartbeat', from: id, frames: [Buffer.from('INIT')], now: 1000 });
}
let refused = 0;
for (let u = 0; u < users; u++) {
  const names = Array.from({ length: 10_000 }, (_, i) => `Object${u}.${String(i).padStart(13, '0')}`);
  const fx = session.handle({
    type: 'message',
    channel: 'command',
    from: ids[u],
    frames: encodeCommand(MessageType.UpdateUserMetadata, `user${u}`, strDict([['selected_objects', names]])),
    now: 1500,
  });
  if (!fx.some((e) => e.type === 'persist')) refused += 1;
}
const wall: number[] = [];
const cpu: number[] = [];
let listBytes = 0;
for (let r = 0; r < rounds; r++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const fx = session.handle({ type: 'tick', now: 3000 + 1000 * r });
  wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  for (const e of fx) {
    if (e.type === 'send' && e.channel === 'command') listBytes = e.frames.reduce((n, f) => n + f.length, 0);
  }
}
report({
  bench: 'user-list',
  users,
  metadata_updates_refused: refused,
  list_bytes: listBytes,
  tick_wall_ms: +median(wall).toFixed(1),
  tick_cpu_ms: +median(cpu).toFixed(1),
});
