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

export async function verifyBearer(header: string | undefined, settings: TokenSettings): Promise<Viewer> {
  if (!header) throw new AuthenticationError('missing Authorization header: send "Authorization: Bearer <token>"');
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match?.[1]) throw new AuthenticationError('Authorization header must be "Bearer <token>"');
  try {
    const { payload } = await jwtVerify(match[1], settings.secret, {
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
    return { subject: payload.sub, roles: known };
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
