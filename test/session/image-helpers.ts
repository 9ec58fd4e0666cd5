/** Comparable JSON views of mutations and session images (bytes as base64, Python values as views). */
import { PyDict, type PyValue, toView, type View } from '../../src/pickle/index.js';
import type { Mutation, SessionImage } from '../../src/session/index.js';

export function mutationView(m: Mutation): View {
  return toView(PyDict.from(Object.entries(m) as [PyValue, PyValue][]));
}

export function imageView(image: SessionImage): View {
  return {
    nodes: image.nodes.map((n) => toView(PyDict.from(Object.entries(n) as [PyValue, PyValue][]))),
    users: toView(image.users),
    initialized: image.initialized,
    chat: toView(image.chat),
    tasks: toView(image.tasks),
    extra: image.extra === undefined ? null : toView(image.extra),
  };
}
