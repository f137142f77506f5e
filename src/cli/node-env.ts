/**
 * Imported first by the hub's entry point (src/cli/hub.ts), before any library: libraries read NODE_ENV when they
 * load — graphql-js, for one, runs a second, slower check in every `instanceOf` outside production (~1.5 % of the
 * hub's CPU on a phone search). The hub's own behaviour never depends on NODE_ENV (development mode is HUB_DEV or
 * the embedded default, src/config/config.ts), so the libraries run as in production unless NODE_ENV is set.
 */
process.env.NODE_ENV ??= 'production';
