// Copies the admin console's static files (src/admin/static/) next to the compiled admin module
// (dist/src/admin/static/), where the server reads them at start. tsc copies only .ts output.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'src', 'admin', 'static');
const to = join(root, 'dist', 'src', 'admin', 'static');
// Replaced whole: a file removed from the source must not linger in the build.
rmSync(to, { recursive: true, force: true });
if (existsSync(from)) cpSync(from, to, { recursive: true });
