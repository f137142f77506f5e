import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';

/**
 * Callers are identified by a bearer JWT (HS256, verified with `jose`) whose `roles` claim lists their roles.
 * The hub does not issue tokens in production (an identity provider does); `signToken` serves the
 * development token printed at start and the tests.
 */
export const roles = [
  'CHANNEL_APP',
  'UNDERWRITER',
  'RISK_ADMIN',
  'DATA_STEWARD',
  'INTEGRATION_ADMIN',
  'COMPLIANCE',
] as const;
export type Role = (typeof roles)[number];

export type Viewer = { subject: string; roles: readonly Role[] };

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

/**
 * What a token must carry: the hub's issuer and audience (a token minted for another service is refused), an
 * expiry, and a lifetime (exp − iat) no longer than `maxLifetimeSeconds` — a token that never expires, or
 * expires in ten years, is a password that cannot be changed.
 */
export type TokenSettings = { secret: Uint8Array; issuer: string; audience: string; maxLifetimeSeconds: number };

export function tokenSettings(
  secret: string,
  issuer: string,
  audience = 'customer-hub',
  maxLifetimeSeconds = 12 * 3600,
): TokenSettings {
  return { secret: new TextEncoder().encode(secret), issuer, audience, maxLifetimeSeconds };
}

/**
 * Verified tokens, remembered briefly so that a caller's token is verified once, not on every request (the
 * signature check was ~6 % of the hub's CPU per customer 360): keyed by the token string per token settings,
 * each until its expiry or for at most `verifiedTokenTtlMs`, whichever comes first, at most
 * `verifiedTokenCacheSize` tokens (the least recently used leave first). Only tokens that passed every check
 * are kept; a token is not revoked before its expiry either way (the hub keeps no revocation list).
 */
export const verifiedTokenTtlMs = 60_000;
export const verifiedTokenCacheSize = 10_000;
const verified = new WeakMap<TokenSettings, Map<string, { viewer: Viewer; until: number }>>();

export async function verifyBearer(header: string | undefined, settings: TokenSettings): Promise<Viewer> {
  if (!header) throw new AuthenticationError('missing Authorization header: send "Authorization: Bearer <token>"');
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match?.[1]) throw new AuthenticationError('Authorization header must be "Bearer <token>"');
  const token = match[1];
  let cache = verified.get(settings);
  if (!cache) {
    cache = new Map();
    verified.set(settings, cache);
  }
  const now = Date.now();
  const hit = cache.get(token);
  if (hit) {
    cache.delete(token);
    if (now < hit.until) {
      cache.set(token, hit);
      return hit.viewer;
    }
  }
  const { viewer, expiresAt } = await verifyToken(token, settings);
  cache.set(token, { viewer, until: Math.min(expiresAt * 1000, now + verifiedTokenTtlMs) });
  if (cache.size > verifiedTokenCacheSize) cache.delete(cache.keys().next().value as string);
  return viewer;
}

async function verifyToken(token: string, settings: TokenSettings): Promise<{ viewer: Viewer; expiresAt: number }> {
  try {
    const { payload } = await jwtVerify(token, settings.secret, {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'iat'],
    });
    if ((payload.exp as number) - (payload.iat as number) > settings.maxLifetimeSeconds)
      throw new AuthenticationError(
        `token lifetime (exp - iat) is over the maximum of ${settings.maxLifetimeSeconds} s: ask for a shorter-lived token`,
      );
    const claimed = Array.isArray(payload.roles) ? payload.roles : [];
    const known = claimed.filter((r): r is Role => typeof r === 'string' && (roles as readonly string[]).includes(r));
    if (known.length === 0)
      throw new AuthenticationError(`token carries no known role (expected some of ${roles.join(', ')})`);
    if (!payload.sub) throw new AuthenticationError('token has no subject (sub)');
    const viewer: Viewer = Object.freeze({ subject: payload.sub, roles: Object.freeze(known) });
    return { viewer, expiresAt: payload.exp as number };
  } catch (e) {
    if (e instanceof AuthenticationError) throw e;
    if (e instanceof joseErrors.JWTExpired) throw new AuthenticationError('token expired');
    if (e instanceof joseErrors.JOSEError) throw new AuthenticationError(`invalid token: ${e.message}`);
    throw e;
  }
}

export async function signToken(
  settings: TokenSettings,
  subject: string,
  grant: readonly Role[],
  lifetimeSeconds = settings.maxLifetimeSeconds,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: [...grant] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.min(lifetimeSeconds, settings.maxLifetimeSeconds))
    .sign(settings.secret);
}
