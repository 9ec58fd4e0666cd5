/**
 * The client side of scripts/test-docker.sh: our replication client against the server in the
 * container, through the published ports. Every command prints one JSON line on stdout.
 *
 *   init PORT ADMIN_PW SERVER_PW      admin initialises 3 nodes; bob joins, writes chat and tasks
 *   mutate PORT SERVER_PW             a user adds a node and renames another (journal only, no save)
 *   touch PORT SERVER_PW              a user who does not join (the session may be large) writes a chat
 *                                     message: the smallest change that makes the next save a real one
 *   seed-large DIR                    writes the persistence benchmark's ~1 GB scene into DIR (a stopped
 *                                     server's data directory), as the server's own store code does
 *   digest PORT SERVER_PW             a new user joins: the graph (sha256 per node), chat and tasks
 */
import { createHash } from 'node:crypto';

import { ReplicationClient } from '../../src/client/index.js';
import { PyDict, type PyValue } from '../../src/pickle/index.js';
import { writeDataDir } from '../../bench/lib/data-dir.js';
import { makeScene, SCENE_1GB } from '../../bench/lib/scene.js';
import { nodeBytes, renameDelta, uuidOf } from '../integration/harness.js';

const STEP_MS = 120_000;
const CHAT =
  '[{"id": "1732600000.25", "username": "bob", "message": "lamp done, see you tomorrow", "msg_type": "text", ' +
  '"metadata": {}, "timestamp": 1732600000.25}]';
const TASKS =
  '{"t-42": {"id": "t-42", "title": "Fix the lamp", "description": "", "assigned_to": "alice", ' +
  '"status": "todo", "created_by": "bob", "created_at": 1732600001.5, "object_name": ""}}';

function client(port: number, username: string, serverPassword: string, adminPassword?: string): ReplicationClient {
  return new ReplicationClient({
    host: '127.0.0.1',
    port,
    username,
    serverPassword,
    adminPassword: adminPassword ?? null,
    connectionTimeoutMs: 10_000,
    stepTimeoutMs: STEP_MS,
  });
}

async function login(c: ReplicationClient, want: string): Promise<void> {
  const reply = await c.login();
  if (reply !== want) throw new Error(`${want} expected at login, got ${reply}`);
}

async function init(port: number, adminPw: string, serverPw: string): Promise<unknown> {
  const alice = client(port, 'alice', serverPw, adminPw);
  const bob = client(port, 'bob', serverPw);
  try {
    await login(alice, 'LOBBY');
    const names = ['Cube', 'Light', 'Camera'];
    const result = await alice.init(
      names.map((name, i) => ({ uuid: uuidOf(i + 1), dataBytes: nodeBytes(uuidOf(i + 1), name) })),
    );
    if (result !== 'ACCEPTED') throw new Error(`init ${result}`);
    await login(bob, 'RUNNING');
    await bob.join();
    await bob.updateMetadata([
      ['chat_messages', CHAT],
      ['tasks', TASKS],
    ]);
    await alice.waitForUsers((list) =>
      list.some((u) => u.name === 'bob' && u.metadata instanceof PyDict && u.metadata.has('tasks')),
    );
    return { nodes: names.length };
  } finally {
    await bob.close('done');
    await alice.close('done');
  }
}

async function mutate(port: number, serverPw: string): Promise<unknown> {
  const dave = client(port, 'dave', serverPw);
  try {
    await login(dave, 'RUNNING');
    await dave.join();
    // The commit first: seeing the node, sent after it on the same socket, proves both applied.
    await dave.pushCommit({ nodeId: uuidOf(1), deltaBytes: renameDelta('RenamedBeforeKill') });
    await dave.pushNode({ uuid: uuidOf(100), dataBytes: nodeBytes(uuidOf(100), 'AddedBeforeKill') });
    // Accepted once a second client sees both (the server journals before it relays).
    const erin = client(port, 'erin', serverPw);
    try {
      await login(erin, 'RUNNING');
      const joined = await erin.join();
      void joined;
      if (!erin.store.nodes.has(uuidOf(100))) throw new Error('the added node did not reach a second client');
    } finally {
      await erin.close('done');
    }
    return { mutated: true };
  } finally {
    await dave.close('done');
  }
}

async function touch(port: number, serverPw: string): Promise<unknown> {
  const frank = client(port, 'frank', serverPw);
  try {
    await login(frank, 'RUNNING');
    const chat = CHAT.replace('lamp done, see you tomorrow', `touched at ${Date.now()}`).replace(/"bob"/, '"frank"');
    await frank.updateMetadata([['chat_messages', chat]]);
    // The server relays the list once it has taken (and journaled) the update.
    await frank.waitForUsers((list) =>
      list.some((u) => u.name === 'frank' && u.metadata instanceof PyDict && u.metadata.get('chat_messages') === chat),
    );
    return { touched: true };
  } finally {
    await frank.close('done');
  }
}

/**
 * Loading 1 GB through one client takes minutes and starves both sides' heartbeats on this small
 * machine; the stop being measured starts from a restored session either way.
 */
async function seedLarge(dir: string): Promise<unknown> {
  const scene = makeScene(SCENE_1GB);
  await writeDataDir(dir, scene.image, 0);
  return { nodes: scene.image.nodes.length, bytes: scene.image.nodes.reduce((n, x) => n + x.dataBytes.length, 0) };
}

function metadataOf(users: readonly { name: string; metadata: PyValue }[], key: string): string[] {
  const out: string[] = [];
  for (const u of users)
    if (u.metadata instanceof PyDict && typeof u.metadata.get(key) === 'string')
      out.push(u.metadata.get(key) as string);
  return out;
}

async function digest(port: number, serverPw: string): Promise<unknown> {
  const carol = client(port, `carol-${process.pid}`, serverPw);
  try {
    await login(carol, 'RUNNING');
    await carol.join();
    const users = await carol.waitForUsers((list) => list.length > 0);
    const nodes: Record<string, string> = {};
    for (const [id, n] of [...carol.store.nodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      nodes[id] = createHash('sha256').update(n.dataBytes).digest('hex').slice(0, 16);
    }
    const chat = metadataOf(users, 'chat_messages').flatMap((s) =>
      (JSON.parse(s) as { message: string }[]).map((m) => m.message),
    );
    const tasks = metadataOf(users, 'tasks').flatMap((s) =>
      Object.values(JSON.parse(s) as Record<string, { title: string }>).map((t) => t.title),
    );
    return { nodes, chat: [...new Set(chat)].sort(), tasks: [...new Set(tasks)].sort() };
  } finally {
    await carol.close('done');
  }
}

async function main(argv: string[]): Promise<unknown> {
  const [cmd, portText, ...rest] = argv;
  const port = Number(portText);
  switch (cmd) {
    case 'init':
      return init(port, rest[0], rest[1] ?? '');
    case 'mutate':
      return mutate(port, rest[0] ?? '');
    case 'touch':
      return touch(port, rest[0] ?? '');
    case 'seed-large':
      return seedLarge(portText);
    case 'digest':
      return digest(port, rest[0] ?? '');
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

main(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + '\n');
  },
  (err: unknown) => {
    process.stderr.write(`session-tool: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
