/**
 * Synthetic scenes for the persistence benchmark, shaped like what the add-on stores (§5.1: every
 * node's data is a plain dict with `type_id` and `uuid`), all written by our pickle encoder:
 *
 * - objects: transforms and a 4×4 matrix as lists of floats, a few custom properties (~700 B);
 * - meshes: attribute buffers as bytes, the way the add-on's mesh dumper ships numpy arrays
 *   (float32 vertex positions and UVs, int32 loop indices, packed normals), plus material and
 *   count fields. Positions are a noisy height field (random mantissas, like a sculpted or
 *   scanned mesh), indices and UVs a regular grid, so the bytes compress about as well (or as
 *   badly) as a real mesh's — all-zero buffers would make gzip look many times faster.
 *
 * Node bytes are generated deterministically from the node's index (xorshift32), so two runs
 * with the same parameters save exactly the same session.
 */
import { encodePickle, PyDict, type PyValue } from '../../src/pickle/index.js';
import { strDict } from '../../src/protocol/index.js';
import type { SessionImage, SessionImageNode } from '../../src/session/index.js';
import { benchUuid } from './payloads.js';

export interface SceneSpec {
  /** Nodes in all: objects + small meshes + big meshes. */
  nodes: number;
  /** Meshes with ~`smallMeshBytes` of buffers. */
  smallMeshes: number;
  smallMeshBytes: number;
  /** Meshes with ~`bigMeshBytes` of buffers (the bulk of a 1 GB scene). */
  bigMeshes: number;
  bigMeshBytes: number;
}

/** ~12 MB: 5,000 nodes, a fifth of them small meshes of ~10 KB. */
export const SCENE_12MB: SceneSpec = {
  nodes: 5000,
  smallMeshes: 1000,
  smallMeshBytes: 9_500,
  bigMeshes: 0,
  bigMeshBytes: 0,
};

/** ~1 GB, mostly bytes: the same 5,000-node layout with 200 heavy meshes of ~5 MB. */
export const SCENE_1GB: SceneSpec = {
  nodes: 5000,
  smallMeshes: 800,
  smallMeshBytes: 9_500,
  bigMeshes: 200,
  bigMeshBytes: 5_150_000,
};

/**
 * ~1 GB as thousands of mid-sized nodes: 4,600 meshes of ~220 KB and 15,400 objects (~700 B),
 * the object of each mesh first.
 */
export const SCENE_1GB_MANY: SceneSpec = {
  nodes: 20_000,
  smallMeshes: 0,
  smallMeshBytes: 0,
  bigMeshes: 4600,
  bigMeshBytes: 220_000,
};

/** Small deterministic PRNG (xorshift32); `Math.random` would make runs differ. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed * 2654435761) >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
}

const round4 = (v: number): number => Math.round(v * 1e4) / 1e4;

function objectData(uuid: string, index: number, meshUuid: string | null, rng: Rng): PyValue {
  const vec = (scale: number): number[] => [0, 1, 2].map(() => round4((rng.next() - 0.5) * scale));
  const matrix: PyValue[] = [];
  for (let r = 0; r < 4; r++) matrix.push([0, 1, 2, 3].map((c) => (r === c ? 1.0 : round4(rng.next() - 0.5))));
  return strDict([
    ['type_id', 'Object'],
    ['uuid', uuid],
    ['name', `Object.${String(index).padStart(4, '0')}`],
    ['data_uuid', meshUuid],
    ['location', vec(20)],
    ['rotation_euler', vec(6.28)],
    ['scale', [1.0, 1.0, 1.0]],
    ['matrix_world', matrix],
    ['delta_location', [0.0, 0.0, 0.0]],
    ['hide_viewport', false],
    ['display_type', 'TEXTURED'],
    ['parent_uuid', null],
    [
      'custom_properties',
      strDict([
        ['weight', round4(rng.next())],
        ['tags', ['bench', `group${index % 17}`]],
      ]),
    ],
    [
      'modifiers',
      [
        strDict([
          ['type', 'SUBSURF'],
          ['levels', 1n],
          ['show_viewport', true],
        ]),
      ],
    ],
  ]);
}

/**
 * Mesh buffers of about `bytes`: for V vertices on a √V×√V grid, positions 12V, normals 6V (int16),
 * UVs 8·4V/… — in practice ~4 loops per quad; sized by solving for V.
 */
function meshBuffers(bytes: number, rng: Rng): { entries: [string, PyValue][]; vertices: number } {
  // Per vertex: co 12 + normal 6 + ~4 loops × (index 4 + uv 8) = 66 bytes.
  const v = Math.max(4, Math.floor(bytes / 66));
  const side = Math.max(2, Math.floor(Math.sqrt(v)));
  const co = new Float32Array(v * 3);
  const normals = new Int16Array(v * 3);
  const loops = new Int32Array(v * 4);
  const uvs = new Float32Array(v * 8);
  const phase = rng.next() * 6.28;
  // An unwrap: one UV per vertex off the grid, repeated on every loop that uses the vertex (as
  // in a real mesh without seams), so UV bytes are noisy but have matches for deflate.
  const uvBase = new Float32Array(v * 2);
  for (let i = 0; i < v; i++) {
    uvBase[i * 2] = ((i % side) + (rng.next() - 0.5) * 0.3) / side;
    uvBase[i * 2 + 1] = (Math.floor(i / side) + (rng.next() - 0.5) * 0.3) / side;
  }
  for (let i = 0; i < v; i++) {
    const x = i % side;
    const y = Math.floor(i / side);
    // Sculpted / scanned surfaces: every coordinate off the grid, so float mantissas are noise.
    co[i * 3] = x * 0.01 + (rng.next() - 0.5) * 0.004;
    co[i * 3 + 1] = y * 0.01 + (rng.next() - 0.5) * 0.004;
    co[i * 3 + 2] = Math.sin(x * 0.05 + phase) * Math.cos(y * 0.07) + (rng.next() - 0.5) * 0.01;
    normals[i * 3] = (rng.next() - 0.5) * 2000;
    normals[i * 3 + 1] = (rng.next() - 0.5) * 2000;
    normals[i * 3 + 2] = 32000;
    const corners = [i, i + 1, i + side + 1, i + side];
    for (let k = 0; k < 4; k++) {
      const c = corners[k] % v;
      loops[i * 4 + k] = c;
      uvs[i * 8 + k * 2] = uvBase[c * 2];
      uvs[i * 8 + k * 2 + 1] = uvBase[c * 2 + 1];
    }
  }
  const asBytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return {
    vertices: v,
    entries: [
      ['vertices_co', asBytes(co)],
      ['vertices_normal', asBytes(normals)],
      ['loops_vertex_index', asBytes(loops)],
      ['uv_layers', strDict([['UVMap', asBytes(uvs)]])],
    ],
  };
}

function meshData(uuid: string, index: number, bytes: number, rng: Rng): PyValue {
  const { entries, vertices } = meshBuffers(bytes, rng);
  return strDict([
    ['type_id', 'Mesh'],
    ['uuid', uuid],
    ['name', `Mesh.${String(index).padStart(4, '0')}`],
    ['vertex_count', BigInt(vertices)],
    ['loop_count', BigInt(vertices * 4)],
    ['polygon_count', BigInt(vertices)],
    ...entries,
    [
      'materials',
      [
        strDict([
          ['name', 'Material'],
          ['base_color', [0.8, 0.8, 0.8, 1.0]],
          ['roughness', 0.5],
        ]),
      ],
    ],
    ['auto_smooth_angle', 0.523599],
  ]);
}

export interface Scene {
  image: SessionImage;
  /** Sum of node data + deps bytes (about the snapshot's uncompressed size). */
  nodeBytes: number;
}

const EMPTY_DEPS = encodePickle([]);

/**
 * The scene as a SessionImage (what `Session.exportImage()` returns): meshes first, then objects
 * that reference them (a dependency, like the add-on's object → mesh), two user records and a
 * few archived chat messages.
 */
export function makeScene(spec: SceneSpec): Scene {
  const nodes: SessionImageNode[] = [];
  let nodeBytes = 0;
  const push = (uuid: string, data: Uint8Array, deps: Uint8Array): void => {
    nodes.push({ uuid, owner: 'COMMON', depsBytes: deps, dataBytes: data });
    nodeBytes += data.length + deps.length;
  };
  const meshes = spec.smallMeshes + spec.bigMeshes;
  for (let i = 0; i < meshes; i++) {
    const uuid = benchUuid(100_000 + i);
    const size = i < spec.bigMeshes ? spec.bigMeshBytes : spec.smallMeshBytes;
    push(uuid, encodePickle(meshData(uuid, i, size, new Rng(i + 1))), EMPTY_DEPS);
  }
  for (let i = 0; i < spec.nodes - meshes; i++) {
    const uuid = benchUuid(200_000 + i);
    const mesh = i < meshes ? benchUuid(100_000 + i) : null;
    const deps = mesh === null ? EMPTY_DEPS : encodePickle([mesh]);
    push(uuid, encodePickle(objectData(uuid, i, mesh, new Rng(1_000_000 + i))), deps);
  }
  const users = new PyDict();
  for (const name of ['alice', 'bob']) {
    users.setStr(
      name,
      strDict([
        ['id', name],
        ['admin', name === 'alice'],
        ['latency', 999n],
        ['status', 0n],
        [
          'metadata',
          strDict([
            ['color', [0.2, 0.4, 0.8, 1.0]],
            ['frame_current', 1n],
          ]),
        ],
      ]),
    );
  }
  const chat: PyValue[] = [];
  for (let i = 0; i < 20; i++) {
    chat.push(
      strDict([
        ['id', `bench-chat-${i}`],
        ['username', i % 2 === 0 ? 'alice' : 'bob'],
        ['message', `message ${i}`],
        ['timestamp', 1_700_000_000 + i],
      ]),
    );
  }
  return { image: { nodes, users, initialized: true, chat, tasks: new PyDict() }, nodeBytes };
}
