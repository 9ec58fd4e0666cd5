export { AdminServer, CSRF_HEADER, SESSION_COOKIE, type AdminLogger, type AdminServerOptions } from './admin-server.js';
export type * from './host.js';
export { SAVE_REASON_ADMIN } from './api-routes.js';
export { staticFiles, type StaticFile } from './static-files.js';
export { readinessReasons, type NotReadyCode, type NotReadyReason } from './readiness.js';
