/** `@djtasks/dashboard`: a fastify plugin to see every task of a DatabaseBackend and act on it. */
export { djtasksDashboard, DashboardConfigurationError, type DashboardOptions } from './plugin.ts';
export { CSRF_COOKIE } from './csrf.ts';
