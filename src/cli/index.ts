/** The CLI's entry points that tests and benchmarks drive in-process (the `multiuser-server` binary is main.ts). */
export { consoleHost, netViewOf, saveResultOf, storeViewOf, type ConsoleState } from './admin-console.js';
export { runExport } from './data-export.js';
export { runHistory } from './history-command.js';
export { HistoryReader } from './history-read.js';
export { Persistence } from './persistence.js';
export { runProbe } from './probe.js';
